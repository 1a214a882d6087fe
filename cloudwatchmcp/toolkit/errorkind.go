package toolkit

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// Why a tool call failed, as the audit entry (error_kind) and the
// tool_calls_total metric (label error_kind) report it. The set is fixed,
// so the metric's cardinality stays bounded.
const (
	KindNone            = "none"             // the call succeeded (metric label only)
	KindThrottled       = "throttled"        // AWS throttled the caller (ThrottlingException, LimitExceededException, …)
	KindAccessDenied    = "access_denied"    // AWS or an authorize rule refused the caller, or the caller has no usable credentials
	KindInvalidArgument = "invalid_argument" // the arguments were wrong (ours, ValidationException, InvalidParameter*, a named resource does not exist)
	KindTimeout         = "timeout"          // the call or an AWS request ran out of time, or the client cancelled it
	KindAWSError        = "aws_error"        // any other AWS error, or AWS could not be reached
	KindInternal        = "internal"         // a fault of this server (a panic, an unencodable result, an unclassified failure)
)

// errorKinds lists the kinds of failed calls.
var ErrorKinds = []string{KindThrottled, KindAccessDenied, KindInvalidArgument, KindTimeout, KindAWSError, KindInternal}

// failure is a classified tool failure.
type Failure struct {
	Kind    string
	AWSCode string // the AWS error code, when AWS answered with one
}

// ClassifyError names the kind of err and, for an AWS error, its code.
func ClassifyError(err error) Failure {
	var te *ToolError
	if errors.As(err, &te) {
		if te.kind != "" {
			return Failure{Kind: te.kind, AWSCode: te.awsCode}
		}
		return Failure{Kind: KindInvalidArgument, AWSCode: te.awsCode}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		f := Failure{Kind: KindTimeout}
		var ae smithy.APIError
		if errors.As(err, &ae) {
			f.AWSCode = ae.ErrorCode()
		}
		return f
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code := ae.ErrorCode()
		return Failure{Kind: awsErrorKind(code), AWSCode: code}
	}
	var oe *smithy.OperationError
	if errors.As(err, &oe) {
		return Failure{Kind: KindAWSError} // no answer from AWS (connection, DNS, TLS)
	}
	return Failure{Kind: KindInternal}
}

// awsErrorKind classifies an AWS error code.
func awsErrorKind(code string) string {
	if _, ok := retry.DefaultThrottleErrorCodes[code]; ok {
		return KindThrottled
	}
	switch code {
	case "TooManyRequests", "ServiceQuotaExceededException":
		return KindThrottled
	case "UnauthorizedOperation", "UnrecognizedClientException", "InvalidClientTokenId", "InvalidAccessKeyId",
		"ExpiredToken", "ExpiredTokenException", "SignatureDoesNotMatch", "InvalidSignatureException",
		"IncompleteSignature", "MissingAuthenticationToken", "AuthFailure", "NotAuthorized", "NotAuthorizedException",
		"OptInRequired", "RequestExpired":
		return KindAccessDenied
	case "ValidationException", "ValidationError", "MalformedQueryException", "MissingParameter",
		"InvalidQueryException", "InvalidNextToken", "InvalidSequenceTokenException", "SerializationException",
		"ResourceNotFoundException", "ResourceNotFound", "bad_data":
		return KindInvalidArgument
	}
	switch {
	case strings.HasPrefix(code, "AccessDenied"):
		return KindAccessDenied
	case strings.HasPrefix(code, "InvalidParameter"), strings.HasPrefix(code, "InvalidRequest"):
		return KindInvalidArgument
	}
	return KindAWSError
}

// RecordFailure notes on the call's record (audit.go) why the call is
// about to fail; the audit entry and the metric read it. Tools call it
// through ErrorResult, or directly where they build an isError result of
// their own shape.
func RecordFailure(ctx context.Context, err error) {
	if rec := RecordFrom(ctx); rec != nil {
		f := ClassifyError(err)
		rec.mu.Lock()
		rec.failure = &f
		rec.mu.Unlock()
	}
}

// failureOf is how a finished call failed: the kind a tool recorded, else
// one derived from the handler's error, else internal (an isError result
// nobody classified, or a panic).
func (rec *Record) FailureOf(err error) Failure {
	rec.mu.Lock()
	f := rec.failure
	denied := rec.denied != nil
	rec.mu.Unlock()
	switch {
	case denied:
		return Failure{Kind: KindAccessDenied}
	case err != nil:
		return ClassifyError(err)
	case f != nil:
		return *f
	}
	return Failure{Kind: KindInternal}
}

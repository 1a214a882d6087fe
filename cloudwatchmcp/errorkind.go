package cloudwatchmcp

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
	kindNone            = "none"             // the call succeeded (metric label only)
	kindThrottled       = "throttled"        // AWS throttled the caller (ThrottlingException, LimitExceededException, …)
	kindAccessDenied    = "access_denied"    // AWS or an authorize rule refused the caller, or the caller has no usable credentials
	kindInvalidArgument = "invalid_argument" // the arguments were wrong (ours, ValidationException, InvalidParameter*, a named resource does not exist)
	kindTimeout         = "timeout"          // the call or an AWS request ran out of time, or the client cancelled it
	kindAWSError        = "aws_error"        // any other AWS error, or AWS could not be reached
	kindInternal        = "internal"         // a fault of this server (a panic, an unencodable result, an unclassified failure)
)

// errorKinds lists the kinds of failed calls.
var errorKinds = []string{kindThrottled, kindAccessDenied, kindInvalidArgument, kindTimeout, kindAWSError, kindInternal}

// failure is a classified tool failure.
type failure struct {
	kind    string
	awsCode string // the AWS error code, when AWS answered with one
}

// classifyError names the kind of err and, for an AWS error, its code.
func classifyError(err error) failure {
	var te *toolError
	if errors.As(err, &te) {
		if te.kind != "" {
			return failure{kind: te.kind, awsCode: te.awsCode}
		}
		return failure{kind: kindInvalidArgument, awsCode: te.awsCode}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		f := failure{kind: kindTimeout}
		var ae smithy.APIError
		if errors.As(err, &ae) {
			f.awsCode = ae.ErrorCode()
		}
		return f
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code := ae.ErrorCode()
		return failure{kind: awsErrorKind(code), awsCode: code}
	}
	var oe *smithy.OperationError
	if errors.As(err, &oe) {
		return failure{kind: kindAWSError} // no answer from AWS (connection, DNS, TLS)
	}
	return failure{kind: kindInternal}
}

// awsErrorKind classifies an AWS error code.
func awsErrorKind(code string) string {
	if _, ok := retry.DefaultThrottleErrorCodes[code]; ok {
		return kindThrottled
	}
	switch code {
	case "TooManyRequests", "ServiceQuotaExceededException":
		return kindThrottled
	case "UnauthorizedOperation", "UnrecognizedClientException", "InvalidClientTokenId", "InvalidAccessKeyId",
		"ExpiredToken", "ExpiredTokenException", "SignatureDoesNotMatch", "InvalidSignatureException",
		"IncompleteSignature", "MissingAuthenticationToken", "AuthFailure", "NotAuthorized", "NotAuthorizedException",
		"OptInRequired", "RequestExpired":
		return kindAccessDenied
	case "ValidationException", "ValidationError", "MalformedQueryException", "MissingParameter",
		"InvalidQueryException", "InvalidNextToken", "InvalidSequenceTokenException", "SerializationException",
		"ResourceNotFoundException", "ResourceNotFound", "bad_data":
		return kindInvalidArgument
	}
	switch {
	case strings.HasPrefix(code, "AccessDenied"):
		return kindAccessDenied
	case strings.HasPrefix(code, "InvalidParameter"), strings.HasPrefix(code, "InvalidRequest"):
		return kindInvalidArgument
	}
	return kindAWSError
}

// recordFailure notes on the call's record (audit.go) why the call is
// about to fail; the audit entry and the metric read it. Tools call it
// through errorResult, or directly where they build an isError result of
// their own shape.
func recordFailure(ctx context.Context, err error) {
	if rec := recordFrom(ctx); rec != nil {
		f := classifyError(err)
		rec.mu.Lock()
		rec.failure = &f
		rec.mu.Unlock()
	}
}

// failureOf is how a finished call failed: the kind a tool recorded, else
// one derived from the handler's error, else internal (an isError result
// nobody classified, or a panic).
func (rec *callRecord) failureOf(err error) failure {
	rec.mu.Lock()
	f := rec.failure
	denied := rec.denied != nil
	rec.mu.Unlock()
	switch {
	case denied:
		return failure{kind: kindAccessDenied}
	case err != nil:
		return classifyError(err)
	case f != nil:
		return *f
	}
	return failure{kind: kindInternal}
}

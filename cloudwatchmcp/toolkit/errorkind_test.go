package toolkit

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/smithy-go"
)

// Issue 18, item 9: a failed tool call says why, in the audit entry
// (error_kind, aws_error_code) and in tool_calls_total (error_kind).

func TestClassifyError(t *testing.T) {
	api := func(code string) error {
		return &smithy.OperationError{ServiceID: "CloudWatch Logs", OperationName: "StartQuery",
			Err: fmt.Errorf("https response error: %w", &smithy.GenericAPIError{Code: code, Message: "m"})}
	}
	for _, tc := range []struct {
		err  error
		want Failure
	}{
		{api("ThrottlingException"), Failure{KindThrottled, "ThrottlingException"}},
		{api("Throttling"), Failure{KindThrottled, "Throttling"}},
		{api("TooManyRequestsException"), Failure{KindThrottled, "TooManyRequestsException"}},
		{api("LimitExceededException"), Failure{KindThrottled, "LimitExceededException"}},
		{api("AccessDeniedException"), Failure{KindAccessDenied, "AccessDeniedException"}},
		{api("AccessDenied"), Failure{KindAccessDenied, "AccessDenied"}},
		{api("UnauthorizedOperation"), Failure{KindAccessDenied, "UnauthorizedOperation"}},
		{api("ExpiredTokenException"), Failure{KindAccessDenied, "ExpiredTokenException"}},
		{api("ValidationException"), Failure{KindInvalidArgument, "ValidationException"}},
		{api("InvalidParameterException"), Failure{KindInvalidArgument, "InvalidParameterException"}},
		{api("InvalidParameterCombination"), Failure{KindInvalidArgument, "InvalidParameterCombination"}},
		{api("MalformedQueryException"), Failure{KindInvalidArgument, "MalformedQueryException"}},
		{api("ServiceUnavailable"), Failure{KindAWSError, "ServiceUnavailable"}},
		{api("InternalFailure"), Failure{KindAWSError, "InternalFailure"}},
		{&smithy.OperationError{ServiceID: "CloudWatch", OperationName: "ListMetrics", Err: errors.New("dial tcp: connection refused")}, Failure{Kind: KindAWSError}},
		{&smithy.OperationError{ServiceID: "CloudWatch", OperationName: "ListMetrics", Err: context.DeadlineExceeded}, Failure{Kind: KindTimeout}},
		{fmt.Errorf("waiting: %w", context.Canceled), Failure{Kind: KindTimeout}},
		{Errorf("max_items must be at least 1"), Failure{Kind: KindInvalidArgument}},
		{&ToolError{msg: NoCredentialsMessage, kind: KindAccessDenied}, Failure{Kind: KindAccessDenied}},
		{errors.New("something broke"), Failure{Kind: KindInternal}},
	} {
		if got := ClassifyError(tc.err); got != tc.want {
			t.Errorf("classifyError(%v) = %+v, want %+v", tc.err, got, tc.want)
		}
	}
}

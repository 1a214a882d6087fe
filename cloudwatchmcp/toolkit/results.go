package toolkit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	"github.com/mark3labs/mcp-go/mcp"
)

// ToolError is a problem the caller can fix; its message is shown to the
// agent as-is. Its kind (errorkind.go) is invalid_argument unless set.
type ToolError struct {
	msg     string
	kind    string
	awsCode string // the AWS error code behind it, if any
}

func (e *ToolError) Error() string { return e.msg }

func Errorf(format string, args ...any) error {
	return &ToolError{msg: fmt.Sprintf(format, args...)}
}

// ErrorResult turns any error into an isError tool result a person can act
// on, and records why the call failed (errorkind.go) for the audit entry
// and the metrics. AWS errors keep their code, message and request id;
// nothing else (never credentials) is echoed.
func ErrorResult(ctx context.Context, err error) *mcp.CallToolResult {
	RecordFailure(ctx, err)
	return mcp.NewToolResultError(ErrorMessage(err))
}

// EncodingFailed is the result of a tool whose result cannot be encoded:
// a fault of this server (kind internal).
func EncodingFailed(err error) *mcp.CallToolResult {
	return mcp.NewToolResultError(ErrorMessage(fmt.Errorf("encoding the result: %w", err)))
}

func ErrorMessage(err error) string {
	var te *ToolError
	if errors.As(err, &te) {
		return te.msg
	}
	if errors.Is(err, context.Canceled) {
		return "the request was cancelled"
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "the AWS call timed out"
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		msg := fmt.Sprintf("AWS error %s: %s", ae.ErrorCode(), ae.ErrorMessage())
		switch ae.ErrorCode() {
		case "AccessDeniedException", "AccessDenied", "UnauthorizedOperation":
			msg += " (your AWS identity lacks this permission; ask for it to be granted)"
		case "ExpiredTokenException", "ExpiredToken":
			msg += " (your AWS session expired; retry the request to get fresh credentials)"
		}
		var re *awshttp.ResponseError
		if errors.As(err, &re) && re.ServiceRequestID() != "" {
			msg += " [request id " + re.ServiceRequestID() + "]"
		}
		return msg
	}
	var oe *smithy.OperationError
	if errors.As(err, &oe) {
		return fmt.Sprintf("AWS %s %s failed: %v", oe.Service(), oe.Operation(), errors.Unwrap(oe.Err))
	}
	return err.Error()
}

// JSONResult returns v as structured content with the same JSON as text,
// which is how FastMCP (and so awslabs) presents pydantic results.
func JSONResult(v any) *mcp.CallToolResult {
	b, err := json.Marshal(v)
	if err != nil {
		return EncodingFailed(err)
	}
	return mcp.NewToolResultStructured(json.RawMessage(b), string(b))
}

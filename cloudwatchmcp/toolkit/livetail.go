package toolkit

import (
	"context"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// LiveTailClient returns a CloudWatch Logs client for the caller in region
// that can hold a Live Tail (StartLiveTail) stream open. It differs from
// LogsClient in three ways, each of which would otherwise end the stream
// or never open it:
//
//   - No per-call timeout (BoundCalls): that deadline is cancelled as soon
//     as StartLiveTail returns its response headers, which would close the
//     event stream under the reader. The tool bounds the whole session
//     with its own context instead.
//   - With a custom endpoint (BaseEndpoint, AWS_ENDPOINT_URL,
//     AWS_ENDPOINT_URL_CLOUDWATCH_LOGS) the SDK would send StartLiveTail to
//     "stream-" + the endpoint's host, which does not exist for a local
//     endpoint or a VPC endpoint; the host prefix is turned off then.
//   - Request bodies go out without their io.WriterTo: over HTTP/1.1,
//     smithy-go closes the request body when the response headers arrive,
//     its closed body's WriteTo fails with io.EOF, and net/http closes the
//     connection under the stream it is still reading (about one stream in
//     ten; aws/aws-sdk-go-v2#2737). HTTP/2 is not affected.
func (e *Env) LiveTailClient(ctx context.Context, region, profile string) (*cloudwatchlogs.Client, error) {
	return cachedClient(ctx, e, region, profile, "logs-livetail", func(cfg aws.Config) *cloudwatchlogs.Client {
		return cloudwatchlogs.NewFromConfig(cfg, liveTailOptions)
	})
}

// liveTailOptions adapts a Logs client for Live Tail (see LiveTailClient).
func liveTailOptions(o *cloudwatchlogs.Options) {
	o.HTTPClient = readOnlyBodies{o.HTTPClient}
	customEndpoint := o.BaseEndpoint != nil
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		if _, ok := s.Initialize.Get(callTimeoutID); ok {
			if _, err := s.Initialize.Remove(callTimeoutID); err != nil {
				return err
			}
		}
		if !customEndpoint {
			return nil
		}
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("cloudwatchmcpNoEndpointHostPrefix",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				return next.HandleInitialize(smithyhttp.DisableEndpointHostPrefix(ctx, true), in)
			}), middleware.Before)
	})
}

// readOnlyBodies sends request bodies without their io.WriterTo, so that
// net/http never calls WriteTo on a body smithy-go has already closed
// (aws/aws-sdk-go-v2#2737).
type readOnlyBodies struct{ c aws.HTTPClient }

func (d readOnlyBodies) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = struct{ io.ReadCloser }{r.Body}
	}
	return d.c.Do(r)
}

// Interface guards
var _ aws.HTTPClient = readOnlyBodies{}

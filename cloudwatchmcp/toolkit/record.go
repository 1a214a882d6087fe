package toolkit

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

const (
	// maxRequestIDs bounds the request ids one record keeps; a batch query
	// polls many times, and the request count still counts them all.
	maxRequestIDs = 256
	// requestIDRecorderID names the SDK middleware.
	requestIDRecorderID = "CaddyCloudWatchMCPAuditRequestID"
)

// Record collects, for one tool call, what happens below the tool handler:
// the AWS request ids (from the SDK middleware and the PromQL client), an
// authorization refusal, and why the call failed. The module's audit entry
// and metrics read it; tools write it through ErrorResult and their SDK
// clients. Batch tools call AWS from several goroutines, hence the lock.
type Record struct {
	mu         sync.Mutex
	requestIDs []string
	requests   int
	denied     *Denial
	failure    *Failure // why the tool failed (errorkind.go)
	throttling Throttling
}

// Denial is an authorization refusal of a call, as the audit entry shows
// it.
type Denial struct {
	MissingScopes []string   // scopes the caller lacks
	MissingGroups [][]string // per failed rule, the groups that would satisfy it
}

type recordKey struct{}

// RecordFrom returns the record of the tool call ctx belongs to, or nil.
func RecordFrom(ctx context.Context) *Record {
	rec, _ := ctx.Value(recordKey{}).(*Record)
	return rec
}

// WithRecord returns ctx carrying a call record: the one an outer
// middleware made (the metrics read it too), or a new one.
func WithRecord(ctx context.Context) (context.Context, *Record) {
	if rec := RecordFrom(ctx); rec != nil {
		return ctx, rec
	}
	rec := &Record{}
	return context.WithValue(ctx, recordKey{}, rec), rec
}

// AddRequestID notes one AWS request of the call; an id seen before (the
// SDK and the HTTP client may both report one) counts once.
func (rec *Record) AddRequestID(id string) {
	if id == "" {
		return
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if slices.Contains(rec.requestIDs, id) {
		return
	}
	rec.requests++
	if len(rec.requestIDs) < maxRequestIDs {
		rec.requestIDs = append(rec.requestIDs, id)
	}
}

// MarkDenied records that authorization refused the call.
func MarkDenied(ctx context.Context, d Denial) {
	if rec := RecordFrom(ctx); rec != nil {
		rec.mu.Lock()
		rec.denied = &d
		rec.mu.Unlock()
	}
}

// Snapshot returns what the call recorded so far: its AWS request ids (at
// most maxRequestIDs), how many AWS requests it made, and its
// authorization refusal (nil if none).
func (rec *Record) Snapshot() (requestIDs []string, requests int, denied *Denial) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.requestIDs), rec.requests, rec.denied
}

// addRequestIDRecorder is an SDK API option (registered once, on the base
// configuration every client is built from) that hands each attempt's AWS
// request id to the record of the tool call in ctx.
func addRequestIDRecorder(stack *middleware.Stack) error {
	if _, ok := stack.Deserialize.Get(requestIDRecorderID); ok {
		return nil
	}
	return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc(requestIDRecorderID,
		func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleDeserialize(ctx, in)
			if rec := RecordFrom(ctx); rec != nil {
				id, _ := awsmiddleware.GetRequestIDMetadata(md)
				if id == "" {
					var re *awshttp.ResponseError
					if errors.As(err, &re) {
						id = re.ServiceRequestID()
					}
				}
				if id == "" {
					if resp, ok := out.RawResponse.(*smithyhttp.Response); ok {
						id = resp.Header.Get("X-Amzn-Requestid")
					}
				}
				rec.AddRequestID(id)
			}
			return out, md, err
		}), middleware.Before)
}

// requestIDRecordingClient records the request ids of requests signed
// outside the SDK's operation stack (PromQL).
type requestIDRecordingClient struct{ aws.HTTPClient }

func (c requestIDRecordingClient) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.HTTPClient.Do(req)
	if resp != nil {
		if rec := RecordFrom(req.Context()); rec != nil {
			rec.AddRequestID(resp.Header.Get("X-Amzn-Requestid"))
		}
	}
	return resp, err
}

// Interface guards
var _ aws.HTTPClient = requestIDRecordingClient{}

package fakeaws

import (
	"encoding/json"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// String returns a string input member ("" when absent).
func (r *Request) String(name string) string {
	s, _ := r.Input[name].(string)
	return s
}

// Int returns an integer input member and whether it was present.
func (r *Request) Int(name string) (int64, bool) {
	switch v := r.Input[name].(type) {
	case int64:
		return v, true
	case float64:
		return int64(v), true
	case json.Number:
		i, err := v.Int64()
		if err != nil {
			f, _ := v.Float64()
			return int64(f), true
		}
		return i, true
	}
	return 0, false
}

// Bool returns a boolean input member.
func (r *Request) Bool(name string) bool {
	b, _ := r.Input[name].(bool)
	return b
}

// Strings returns a list-of-strings input member.
func (r *Request) Strings(name string) []string {
	l, _ := r.Input[name].([]any)
	out := make([]string, 0, len(l))
	for _, e := range l {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// Time returns a timestamp input member: a CBOR epoch tag, or JSON epoch
// seconds.
func (r *Request) Time(name string) (time.Time, bool) {
	switch v := r.Input[name].(type) {
	case time.Time:
		return v, true
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return time.Time{}, false
		}
		return time.UnixMilli(int64(f * 1000)).UTC(), true
	}
	return time.Time{}, false
}

// Map returns an object input member.
func (r *Request) Map(name string) map[string]any {
	m, _ := r.Input[name].(map[string]any)
	return m
}

// TestConfig returns an aws.Config that sends every service to f with the
// given credentials and region us-east-1. Service errors (including injected
// faults) are never retried, so tests see each failure exactly once.
//
// Only connection errors are retried, as the SDK's standard retryer would:
// aws-sdk-go-v2 occasionally reads a response on a connection its own write
// loop has just closed ("use of closed network connection", see
// aws/aws-sdk-go-v2#2737), which production absorbs with its retries.
func TestConfig(f *Fake, creds aws.CredentialsProvider) aws.Config {
	if creds == nil {
		creds = aws.AnonymousCredentials{}
	}
	return aws.Config{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(f.URL),
		Credentials:  creds,
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				// Under a loaded -race run the race can strike a call three
				// times running; five attempts a few milliseconds apart
				// (as production backs off too) absorb it.
				o.MaxAttempts = 5
				o.Retryables = []retry.IsErrorRetryable{retry.RetryableConnectionError{}}
				o.Backoff = retry.BackoffDelayerFunc(func(attempt int, _ error) (time.Duration, error) {
					return time.Duration(attempt) * 5 * time.Millisecond, nil
				})
				o.RateLimiter = ratelimit.None
			})
		},
		// CloudWatch compresses large bodies; keep them plain for the fake.
		DisableRequestCompression: true,
	}
}

// StaticCredentials wraps issued keys as a provider.
func StaticCredentials(c aws.Credentials) aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
}

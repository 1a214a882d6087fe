package promql

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"go.uber.org/zap"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

const (
	// promqlSigningName is the SigV4 service the PromQL API is signed for.
	promqlSigningName = "monitoring"
	// promqlAttempts bounds tries of one call; only transport failures,
	// 5xx and throttling are retried, never a PromQL "status":"error".
	promqlAttempts = 3
	// promqlBackoff is the first retry delay; it doubles per retry.
	promqlBackoff = 200 * time.Millisecond
	// promqlAttemptTimeout bounds one HTTP exchange. CloudWatch stops
	// evaluating a query after 20 s, so anything much longer is a hung
	// connection, which awslabs (no timeout at all) would wait on forever.
	promqlAttemptTimeout = 45 * time.Second
	// promqlMaxBody caps what one answer may hold in memory.
	promqlMaxBody = 32 << 20
)

// emptyPayloadHash is the SHA-256 of the empty GET body.
var emptyPayloadHash = func() string { s := sha256.Sum256(nil); return hex.EncodeToString(s[:]) }()

var promqlSigner = v4.NewSigner()

// promqlEnvelope is the Prometheus HTTP API answer.
type promqlEnvelope struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
	Infos     []string        `json:"infos"`
}

// promqlCall is one PromQL API request: path below /api/v1/ (already
// escaped) and query parameters (repeated keys stay repeated).
type promqlCall struct {
	region, profile string
	path            string
	params          url.Values
}

// promql performs a SigV4-signed GET against the caller's CloudWatch PromQL
// endpoint and returns the envelope of a "success" answer.
func promql(ctx context.Context, e *toolkit.Env, c promqlCall) (*promqlEnvelope, error) {
	cfg, _, err := e.SigningConfig(ctx, c.region, c.profile)
	if err != nil {
		return nil, err
	}
	base, err := promqlBaseURL(ctx, cfg)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(strings.TrimRight(base, "/") + "/api/v1/" + c.path)
	if err != nil {
		return nil, toolkit.Errorf("cannot build the PromQL URL: %v", err)
	}
	u.RawQuery = c.params.Encode()
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = awshttp.NewBuildableClient()
	}

	var lastErr error
	for attempt := 1; attempt <= promqlAttempts; attempt++ {
		if attempt > 1 {
			if err := e.Sleep(ctx, promqlBackoff<<(attempt-2)); err != nil {
				return nil, err
			}
		}
		env, retryable, err := promqlAttempt(ctx, e, cfg, u)
		if err == nil {
			return env, nil
		}
		if !retryable {
			return nil, err
		}
		lastErr = err
		e.Logger.Debug("retrying PromQL request", zap.String("endpoint", c.path), zap.Int("attempt", attempt), zap.String("error", toolkit.ErrorMessage(err)))
	}
	return nil, toolkit.Errorf("PromQL %s failed after %d attempts: %s", c.path, promqlAttempts, toolkit.ErrorMessage(lastErr))
}

// promqlAttempt sends one signed request. retryable reports whether the
// failure is transient (connection, 5xx without a PromQL answer, throttling).
func promqlAttempt(ctx context.Context, e *toolkit.Env, cfg aws.Config, u *url.URL) (*promqlEnvelope, bool, error) {
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, false, toolkit.Errorf("the AWS credentials for this request are unusable: %v", err)
	}
	actx, cancel := context.WithTimeout(ctx, promqlAttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, false, toolkit.Errorf("cannot build the PromQL request: %v", err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "caddy-cloudwatch-mcp/"+toolkit.Version+" (promql)")
	if err := promqlSigner.SignHTTP(ctx, creds, req, emptyPayloadHash, promqlSigningName, cfg.Region, time.Now()); err != nil {
		return nil, false, toolkit.Errorf("cannot sign the PromQL request: %v", err)
	}
	resp, err := cfg.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		return nil, true, fmt.Errorf("PromQL connection error: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, promqlMaxBody+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		return nil, true, fmt.Errorf("PromQL connection error reading the answer: %w", err)
	}
	if len(body) > promqlMaxBody {
		return nil, false, toolkit.Errorf("the PromQL answer is larger than %d MiB; narrow the selectors, shorten the range or raise step", promqlMaxBody>>20)
	}

	// A Prometheus answer (success or error) is authoritative at any HTTP
	// status: awslabs raised on the status first, so a 400 bad_data was
	// retried three times and its message lost.
	var env promqlEnvelope
	if json.Unmarshal(body, &env) == nil && (env.Status == "success" || env.Status == "error") {
		if env.Status == "error" {
			return nil, false, promqlAPIError(env)
		}
		return &env, false, nil
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil, false, toolkit.Errorf("the PromQL endpoint answered HTTP %d with something that is not a Prometheus API response", resp.StatusCode)
	}
	apiErr := awsHTTPError(resp, body)
	code := apiErr.ErrorCode()
	_, throttled := retry.DefaultThrottleErrorCodes[code]
	_, transient := retry.DefaultRetryableErrorCodes[code]
	retryable := resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || throttled || transient
	return nil, retryable, &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: resp}, Err: apiErr},
		RequestID:     resp.Header.Get("X-Amzn-RequestId"),
	}
}

// promqlAPIError turns a Prometheus error answer into a tool error.
func promqlAPIError(env promqlEnvelope) error {
	msg := env.Error
	if msg == "" {
		msg = "unknown error"
	}
	hint := ""
	switch env.ErrorType {
	case "bad_data":
		hint = " (fix the query or parameters)"
	case "timeout":
		hint = " (the query took too long: narrow the selectors, shorten the range or raise step)"
	}
	if env.ErrorType != "" {
		return toolkit.Errorf("PromQL API error (%s): %s%s", env.ErrorType, msg, hint)
	}
	return toolkit.Errorf("PromQL API error: %s", msg)
}

var xmlCodeRE = regexp.MustCompile(`<Code>([^<]*)</Code>`)
var xmlMessageRE = regexp.MustCompile(`<Message>([^<]*)</Message>`)

// awsHTTPError reads an AWS error from a non-Prometheus answer: the JSON
// (`__type`, `message`) or XML (`<Code>`) shapes, else the HTTP status.
func awsHTTPError(resp *http.Response, body []byte) smithy.APIError {
	code, _, _ := strings.Cut(resp.Header.Get("X-Amzn-ErrorType"), ":")
	var msg string
	var j struct {
		Type     string `json:"__type"`
		Code     string `json:"code"`
		CodeUp   string `json:"Code"`
		Message  string `json:"message"`
		MessageU string `json:"Message"`
	}
	if json.Unmarshal(body, &j) == nil {
		code = cmp.Or(code, j.Type, j.Code, j.CodeUp)
		msg = cmp.Or(j.Message, j.MessageU)
	} else if m := xmlCodeRE.FindSubmatch(body); m != nil {
		code = cmp.Or(code, string(m[1]))
		if mm := xmlMessageRE.FindSubmatch(body); mm != nil {
			msg = string(mm[1])
		}
	}
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	if code == "" {
		code = fmt.Sprintf("HTTP%d", resp.StatusCode)
	}
	if msg == "" {
		msg = strings.TrimSpace(string(bytes.ToValidUTF8(body, nil)))
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
		if msg == "" {
			msg = http.StatusText(resp.StatusCode)
		}
	}
	fault := smithy.FaultClient
	if resp.StatusCode >= 500 {
		fault = smithy.FaultServer
	}
	return &smithy.GenericAPIError{Code: code, Message: msg, Fault: fault}
}

// promqlBaseURL resolves the endpoint exactly as the CloudWatch SDK client
// does for the same config: cfg.BaseEndpoint, AWS_ENDPOINT_URL_CLOUDWATCH /
// the shared config's services section, FIPS/dual-stack and the partition's
// DNS suffix (monitoring.<region>.amazonaws.com, .amazonaws.com.cn, ...).
func promqlBaseURL(ctx context.Context, cfg aws.Config) (string, error) {
	o := cloudwatch.NewFromConfig(cfg).Options()
	ep, err := o.EndpointResolverV2.ResolveEndpoint(ctx, cloudwatch.EndpointParameters{
		Region:       aws.String(cfg.Region),
		Endpoint:     o.BaseEndpoint,
		UseFIPS:      aws.Bool(o.EndpointOptions.UseFIPSEndpoint == aws.FIPSEndpointStateEnabled),
		UseDualStack: aws.Bool(o.EndpointOptions.UseDualStackEndpoint == aws.DualStackEndpointStateEnabled),
	})
	if err != nil {
		return "", toolkit.Errorf("cannot resolve the CloudWatch endpoint for region %q: %v", cfg.Region, err)
	}
	return ep.URI.String(), nil
}

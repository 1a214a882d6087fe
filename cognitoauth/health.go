package cognitoauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"
)

const (
	defaultHealthInterval = 10 * time.Second
	// healthCheckTimeout bounds one check, so a probe is answered well
	// within a load balancer's usual 5s timeout even when a dependency
	// hangs.
	healthCheckTimeout = 3 * time.Second
)

// Health answers load balancer health checks at one path without a token.
// The answer is JSON, e.g. {"status":"ok","signing_keys":"ok",
// "aws_vending":"ok"}, with status 200 when cognito_auth can serve
// requests, else 503 with Retry-After:
//
//   - signing_keys: "ok" once the issuer's keys are loaded (they are then
//     used even while the issuer is unreachable), "unavailable" when none
//     could be loaded, "disabled" with `enabled false`.
//   - aws_vending: "ok" when the vending service's endpoint (STS, Cognito
//     Identity or Identity Center, as the SDK resolves it, honouring
//     AWS_ENDPOINT_URL*) answers HTTP at all, "unavailable" when it cannot
//     be reached, "none" without a vending mode. The probe is a plain GET
//     of the endpoint: no AWS API call, so it costs nothing, uses no quota
//     and needs no credentials.
//
// Checks run at most once per interval however often load balancers ask;
// the answer names no URL, error or identifier. Only GET and HEAD of
// exactly this path are answered; any other method or path is
// authenticated as usual.
type Health struct {
	// Path is the exact request path to answer, e.g. /healthz.
	Path string `json:"path,omitempty"`

	// Interval is how long a check's result is reused, between 1s and 5m.
	// Default: 10s.
	Interval caddy.Duration `json:"interval,omitempty"`

	auth     *CognitoAuth
	interval time.Duration
	ctx      context.Context
	cancel   context.CancelFunc
	flight   singleflight.Group

	mu     sync.Mutex
	last   healthReport
	at     time.Time // of last; zero before the first check
	causes map[string]string
}

// healthReport is the body of a health answer.
type healthReport struct {
	Status      string `json:"status"`
	SigningKeys string `json:"signing_keys"`
	AWSVending  string `json:"aws_vending"`
}

const (
	healthOK          = "ok"
	healthUnavailable = "unavailable"
	healthDisabled    = "disabled"
	healthNone        = "none"
)

func (h *Health) validate() error {
	if h == nil {
		return nil
	}
	p := h.Path
	if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "?#*{}\\") ||
		strings.ContainsFunc(p, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return fmt.Errorf("health: path %q must be an absolute path without query, wildcard or placeholder, like /healthz", p)
	}
	if strings.HasPrefix(p, "/.well-known/") {
		return fmt.Errorf("health: path %q is under /.well-known/, where OAuth metadata is served", p)
	}
	if d := time.Duration(h.Interval); d != 0 && (d < time.Second || d > 5*time.Minute) {
		return fmt.Errorf("health: interval must be between 1s and 5m, not %v", d)
	}
	return nil
}

func (h *Health) provision(m *CognitoAuth) error {
	if h == nil {
		return nil
	}
	if err := h.validate(); err != nil {
		return err
	}
	h.auth = m
	h.interval = time.Duration(h.Interval)
	if h.interval == 0 {
		h.interval = defaultHealthInterval
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.causes = map[string]string{}
	return nil
}

func (h *Health) cleanup() {
	if h != nil && h.cancel != nil {
		h.cancel()
	}
}

// matches reports whether r is a health check: GET or HEAD of the path.
func (h *Health) matches(r *http.Request) bool {
	return h != nil && r.URL.Path == h.Path && (r.Method == http.MethodGet || r.Method == http.MethodHead)
}

// serve answers one health check.
func (h *Health) serve(w http.ResponseWriter, r *http.Request) {
	rep := h.report()
	body, _ := json.Marshal(rep)
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Cache-Control", "no-store")
	status := http.StatusOK
	if rep.Status != healthOK {
		status = http.StatusServiceUnavailable
		hdr.Set("Retry-After", strconv.Itoa(int((h.interval+time.Second-1)/time.Second)))
	}
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// report returns the last result while it is fresh, else checks again;
// concurrent probes share one check.
func (h *Health) report() healthReport {
	h.mu.Lock()
	if !h.at.IsZero() && h.auth.now().Sub(h.at) < h.interval {
		rep := h.last
		h.mu.Unlock()
		return rep
	}
	h.mu.Unlock()
	v, _, _ := h.flight.Do("check", func() (any, error) {
		// The module's context, not the probe's: a probe that gives up
		// must not leave an aborted check behind as the cached answer.
		ctx, cancel := context.WithTimeout(h.ctx, healthCheckTimeout)
		defer cancel()
		rep := h.check(ctx)
		h.mu.Lock()
		h.last, h.at = rep, h.auth.now()
		h.mu.Unlock()
		return rep, nil
	})
	return v.(healthReport)
}

// check looks at the signing keys and the vending endpoint concurrently.
func (h *Health) check(ctx context.Context) healthReport {
	m := h.auth
	rep := healthReport{Status: healthOK, SigningKeys: healthDisabled, AWSVending: healthNone}
	if m.disabled {
		return rep
	}
	var wg sync.WaitGroup
	var keysErr, awsErr error
	wg.Go(func() { keysErr = m.keys.ready(ctx) })
	if m.Vending.mode != nil {
		wg.Go(func() { awsErr = m.Vending.reachable(ctx) })
	}
	wg.Wait()
	rep.SigningKeys = h.verdict("signing_keys", keysErr)
	if m.Vending.mode != nil {
		rep.AWSVending = h.verdict("aws_vending", awsErr)
	}
	if rep.SigningKeys == healthUnavailable || rep.AWSVending == healthUnavailable {
		rep.Status = healthUnavailable
	}
	return rep
}

// verdict turns a component's check into its status and logs when it
// changes, with the cause, which never goes into the answer.
func (h *Health) verdict(component string, err error) string {
	status, cause := healthOK, ""
	if err != nil {
		status, cause = healthUnavailable, err.Error()
	}
	h.mu.Lock()
	prev, seen := h.causes[component]
	h.causes[component] = cause
	h.mu.Unlock()
	switch {
	case err != nil && (!seen || prev == ""):
		h.auth.logger.Warn("health: "+component+" unavailable", zap.String("path", h.Path), zap.Error(err))
	case err == nil && seen && prev != "":
		h.auth.logger.Info("health: "+component+" available again", zap.String("path", h.Path))
	}
	return status
}

// ready reports whether verification keys are loaded, loading them if
// they are not. Loaded keys count as ready even while the issuer is down:
// tokens signed with them keep verifying.
func (s *keySource) ready(ctx context.Context) error {
	if s.current.Load() != nil {
		return nil
	}
	ch := s.flight.DoChan("keys", func() (any, error) {
		if s.current.Load() != nil {
			return nil, nil
		}
		return nil, s.fetch()
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return fmt.Errorf("%w: %v", errKeysUnavailable, res.Err)
		}
	case <-ctx.Done():
		return fmt.Errorf("%w: %v", errKeysUnavailable, ctx.Err())
	}
	if s.current.Load() == nil {
		return errKeysUnavailable
	}
	return nil
}

// reachable probes the vending service's endpoints with a plain GET: any
// HTTP answer proves DNS, routing and TLS; no AWS operation is invoked.
func (v *Vending) reachable(ctx context.Context) error {
	var errs []error
	for _, u := range v.probeURLs {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		resp, err := v.httpClient.Do(req)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", u, err))
			continue
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}
	return errors.Join(errs...)
}

// resolvedURL turns a service's endpoint resolution into the probe URL.
func resolvedURL(ep smithyendpoints.Endpoint, err error) ([]string, error) {
	if err != nil {
		return nil, err
	}
	return []string{ep.URI.String()}, nil
}

func isFIPS(s aws.FIPSEndpointState) *bool { return aws.Bool(s == aws.FIPSEndpointStateEnabled) }
func isDualStack(s aws.DualStackEndpointState) *bool {
	return aws.Bool(s == aws.DualStackEndpointStateEnabled)
}

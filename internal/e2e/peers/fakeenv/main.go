// Command fakeenv runs the wire-level fake AWS as a process for the peers
// suite (run.sh): seeded with demo log groups, Insights results and alarms,
// trusting the JWT issuers given on the command line (their keys are fetched
// from their JWKS URLs, as IAM does for an OIDC identity provider), with one
// role every trusted issuer may assume and, optionally, a Cognito identity
// pool whose providers are those issuers.
//
// It writes shell assignments (FAKE_AWS_URL, FAKE_CONTROL_URL) to -env-file
// once it is serving, and runs until SIGINT/SIGTERM. The control server
// answers GET /calls?op=Op[,Op...] with the calls the fake recorded (which
// user's key signed each one), so the suite can prove per-user signing.
//
// Queries containing "whoami" get one row naming the user whose credentials
// started them, so two users visibly get their own Insights results.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
)

// trustFlag collects -trust ISSUER,JWKS_URL[,AUD...] values.
type trustFlag []trust

type trust struct {
	issuer, jwks string
	auds         []string
}

func (t *trustFlag) String() string { return fmt.Sprint(len(*t)) }

func (t *trustFlag) Set(v string) error {
	parts := strings.Split(v, ",")
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return errors.New("want ISSUER,JWKS_URL[,CLIENT_ID...]")
	}
	*t = append(*t, trust{issuer: parts[0], jwks: parts[1], auds: parts[2:]})
	return nil
}

func main() {
	var trusts trustFlag
	flag.Var(&trusts, "trust", "ISSUER,JWKS_URL[,CLIENT_ID...]: an issuer the fake STS / identity pool trusts (repeatable)")
	role := flag.String("role", "arn:aws:iam::123456789012:role/peers-cloudwatch-reader", "role every trusted issuer may assume with AssumeRoleWithWebIdentity")
	pool := flag.String("identity-pool", "", "identity pool ID (region:uuid) whose providers are the trusted issuers; empty: none")
	envFile := flag.String("env-file", "", "write FAKE_AWS_URL and FAKE_CONTROL_URL here once serving")
	flag.Parse()
	if err := run(trusts, *role, *pool, *envFile); err != nil {
		fmt.Fprintln(os.Stderr, "fakeenv:", err)
		os.Exit(1)
	}
}

func run(trusts trustFlag, role, pool, envFile string) error {
	f := fakeaws.Start()
	defer f.Close()

	var issuers, providers []string
	for _, t := range trusts {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		keys, err := jwk.Fetch(ctx, t.jwks)
		cancel()
		if err != nil {
			return fmt.Errorf("fetch JWKS of %s from %s: %w", t.issuer, t.jwks, err)
		}
		f.AddOIDCProvider(fakeaws.OIDCProvider{Issuer: t.issuer, Keys: keys, ClientIDs: t.auds})
		issuers = append(issuers, t.issuer)
		_, rest, _ := strings.Cut(t.issuer, "://")
		providers = append(providers, rest)
	}
	f.AddRole(fakeaws.Role{ARN: role, WebIdentityIssuers: issuers, MaxSessionDuration: 12 * time.Hour})
	if pool != "" {
		f.AddIdentityPool(fakeaws.IdentityPool{ID: pool, Providers: providers, AuthenticatedRole: role})
	}
	seed(f)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: control(f), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	out := fmt.Sprintf("FAKE_AWS_URL=%s\nFAKE_CONTROL_URL=http://%s\n", f.URL, ln.Addr())
	if envFile != "" {
		// Write then rename, so a poller never reads half a file.
		if err := os.WriteFile(envFile+".tmp", []byte(out), 0o600); err != nil {
			return err
		}
		if err := os.Rename(envFile+".tmp", envFile); err != nil {
			return err
		}
	}
	fmt.Print(out)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	return nil
}

// control serves the fake's call records.
func control(f *fakeaws.Fake) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /calls", func(w http.ResponseWriter, r *http.Request) {
		type call struct {
			Op          string `json:"op"`
			Owner       string `json:"owner"`
			AccessKeyID string `json:"access_key_id"`
			Signed      bool   `json:"signed"`
		}
		calls := []call{}
		for _, op := range strings.Split(r.URL.Query().Get("op"), ",") {
			for _, c := range f.Calls(op) {
				calls = append(calls, call{Op: c.Op, Owner: c.Owner, AccessKeyID: c.AccessKeyID, Signed: c.Signed})
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(calls)
	})
	return mux
}

// seed fills the fake with the demo data set (examples/demo uses the same).
func seed(f *fakeaws.Fake) {
	logs := fakeaws.LogsOf(f).SeedDemo()
	logs.SetQueryPlan(fakeaws.QueryPlan{Polls: 2})
	logs.SetQueryResolver(func(q fakeaws.StartedQuery) (fakeaws.QueryResult, bool) {
		if !strings.Contains(q.QueryString, "whoami") {
			return fakeaws.QueryResult{}, false
		}
		return fakeaws.QueryResult{Rows: [][]fakeaws.ResultField{
			fakeaws.Row("@timestamp", time.Now().UTC().Format("2006-01-02 15:04:05.000"), "@message", "query run with the credentials of "+q.Owner),
		}}, true
	})

	a := fakeaws.AlarmsOf(f)
	now := time.Now().UTC()
	_ = a.AddMetricAlarm(fakeaws.MetricAlarm{
		Name: "checkout-api-errors", Description: "Lambda errors on checkout-api",
		Namespace: "AWS/Lambda", MetricName: "Errors", Dimensions: []fakeaws.AlarmDimension{{Name: "FunctionName", Value: "checkout-api"}},
		Statistic: "Sum", Period: 60, EvaluationPeriods: 3, DatapointsToAlarm: 2, Threshold: 1, ComparisonOperator: "GreaterThanOrEqualToThreshold",
		State: "ALARM", StateReason: "Threshold Crossed: 2 out of the last 3 datapoints were greater than or equal to the threshold (1.0).",
		StateUpdated: now.Add(-25 * time.Minute),
	})
	_ = a.AddMetricAlarm(fakeaws.MetricAlarm{
		Name: "orders-queue-age", Description: "Oldest message in the orders queue",
		Namespace: "AWS/SQS", MetricName: "ApproximateAgeOfOldestMessage", Dimensions: []fakeaws.AlarmDimension{{Name: "QueueName", Value: "orders"}},
		Statistic: "Maximum", Period: 300, EvaluationPeriods: 1, Threshold: 600, ComparisonOperator: "GreaterThanThreshold",
		State: "OK", StateUpdated: now.Add(-3 * time.Hour),
	})
}

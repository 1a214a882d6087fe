// Command fakeenv runs the wire-level fake AWS as a process for the peers
// suite (run.sh): seeded with demo log groups, Insights results and alarms,
// trusting the JWT issuers given on the command line (their keys are fetched
// from their JWKS URLs, as IAM does for an OIDC identity provider), with one
// role every trusted issuer may assume and, optionally, a Cognito identity
// pool whose providers are those issuers.
//
// The server itself has long-term credentials of its own (owner "server")
// that may sts:AssumeRole into the role, as an instance role would for
// cognito_auth's assume_role.
//
// With -cognito it also runs a Cognito-like user pool with a hosted UI
// (internal/fakecognito): one confidential app client for the login proxy,
// whose callback URLs are the -cognito-callback values, and the users
// alice and bob with random passwords.
//
// It writes shell assignments (FAKE_AWS_URL, FAKE_CONTROL_URL,
// FAKE_SERVER_AWS_ACCESS_KEY_ID, FAKE_SERVER_AWS_SECRET_ACCESS_KEY and,
// with -cognito, FAKE_COGNITO_URL, FAKE_COGNITO_CLIENT_ID,
// FAKE_COGNITO_CLIENT_SECRET, FAKE_COGNITO_USERS=name:password:sub,...)
// to -env-file once it is serving, and runs until SIGINT/SIGTERM. The
// control server answers GET /calls?op=Op[,Op...] with the calls the fake
// recorded (which user's key signed each one, and how that key was vended),
// so the suite can prove per-user signing, and GET /secrets with every
// secret the fakes handed out or were shown (AWS secret keys and session
// tokens, the app client secret, passwords, authorization codes, refresh
// tokens, PKCE verifiers), so the suite can prove none reached a log.
//
// Queries containing "whoami" get one row naming the user whose credentials
// started them, so two users visibly get their own Insights results.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakecognito"
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

// listFlag collects repeated string values.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// options are the command line.
type options struct {
	trusts           trustFlag
	role, pool       string
	envFile          string
	cognito          bool
	cognitoCallbacks listFlag
}

// The login proxy's app client at the fake user pool, and its users.
const cognitoClientID = "peers-login-proxy"

var cognitoUsers = []string{"alice", "bob", "carol"}

func main() {
	var o options
	flag.Var(&o.trusts, "trust", "ISSUER,JWKS_URL[,CLIENT_ID...]: an issuer the fake STS / identity pool trusts (repeatable)")
	flag.StringVar(&o.role, "role", "arn:aws:iam::123456789012:role/peers-cloudwatch-reader", "role every trusted issuer may assume with AssumeRoleWithWebIdentity, and the server with AssumeRole")
	flag.StringVar(&o.pool, "identity-pool", "", "identity pool ID (region:uuid) whose providers are the trusted issuers; empty: none")
	flag.StringVar(&o.envFile, "env-file", "", "write the FAKE_* assignments here once serving")
	flag.BoolVar(&o.cognito, "cognito", false, "also run a Cognito-like user pool with a hosted UI (internal/fakecognito)")
	flag.Var(&o.cognitoCallbacks, "cognito-callback", "a callback URL of the fake user pool's login-proxy app client (repeatable)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "fakeenv:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	trusts, role, pool, envFile := o.trusts, o.role, o.pool, o.envFile
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
	f.AddRole(fakeaws.Role{ARN: role, WebIdentityIssuers: issuers, AssumeRoleBy: []string{"server"}, MaxSessionDuration: 12 * time.Hour})
	if pool != "" {
		f.AddIdentityPool(fakeaws.IdentityPool{ID: pool, Providers: providers, AuthenticatedRole: role})
	}
	// The server's own long-term key (AKIA…, no session token), used only
	// to sign AssumeRole.
	server := aws.Credentials{AccessKeyID: "AKIA" + strings.ToUpper(randomHex(8)), SecretAccessKey: randomHex(20)}
	f.AddCredentials(server, "server")
	seed(f)

	var env strings.Builder
	fmt.Fprintf(&env, "FAKE_AWS_URL=%s\nFAKE_SERVER_AWS_ACCESS_KEY_ID=%s\nFAKE_SERVER_AWS_SECRET_ACCESS_KEY=%s\n",
		f.URL, server.AccessKeyID, server.SecretAccessKey)
	var userPool *fakecognito.Fake
	if o.cognito {
		userPool = startCognito(o.cognitoCallbacks, &env)
		defer userPool.Close()
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: control(f, userPool), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	fmt.Fprintf(&env, "FAKE_CONTROL_URL=http://%s\n", ln.Addr())
	out := env.String()
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

// startCognito runs the fake user pool with the login proxy's app client
// and the users, and appends their FAKE_COGNITO_* assignments to env.
// Passwords and the client secret are hex, so the env file needs no
// quoting.
func startCognito(callbacks []string, env *strings.Builder) *fakecognito.Fake {
	c := fakecognito.Start()
	secret := randomHex(24)
	c.AddClient(fakecognito.AppClient{ID: cognitoClientID, Secret: secret, CallbackURLs: callbacks})
	var users []string
	for _, name := range cognitoUsers {
		pass := randomHex(12)
		c.AddUser(fakecognito.User{Username: name, Password: pass, Email: name + "@example.com"})
		users = append(users, name+":"+pass+":"+c.Sub(name))
	}
	fmt.Fprintf(env, "FAKE_COGNITO_URL=%s\nFAKE_COGNITO_CLIENT_ID=%s\nFAKE_COGNITO_CLIENT_SECRET=%s\nFAKE_COGNITO_USERS=%s\n",
		c.URL(), cognitoClientID, secret, strings.Join(users, ","))
	return c
}

// control serves the fakes' records.
func control(f *fakeaws.Fake, pool *fakecognito.Fake) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /calls", func(w http.ResponseWriter, r *http.Request) {
		type call struct {
			Op          string `json:"op"`
			Owner       string `json:"owner"`
			AccessKeyID string `json:"access_key_id"`
			Signed      bool   `json:"signed"`
			// How the signing key was vended ("" for a key the fake did
			// not vend, such as the server's own).
			VendedBy string `json:"vended_by"`
			RoleARN  string `json:"role_arn,omitempty"`
		}
		calls := []call{}
		for _, op := range strings.Split(r.URL.Query().Get("op"), ",") {
			for _, c := range f.Calls(op) {
				cc := call{Op: c.Op, Owner: c.Owner, AccessKeyID: c.AccessKeyID, Signed: c.Signed}
				if s, ok := f.Session(c.AccessKeyID); ok {
					cc.VendedBy, cc.RoleARN = s.Op, s.RoleARN
				}
				calls = append(calls, cc)
			}
		}
		writeJSON(w, calls)
	})
	mux.HandleFunc("GET /secrets", func(w http.ResponseWriter, r *http.Request) {
		secrets := f.Secrets()
		if pool != nil {
			secrets = append(secrets, pool.Secrets()...)
		}
		writeJSON(w, secrets)
	})
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// seed fills the fake with the demo data set (examples/demo uses the same).
func seed(f *fakeaws.Fake) {
	logs := fakeaws.LogsOf(f).SeedDemo()
	fakeaws.MetricsOf(f).SeedDemo() // get_metric_image draws the demo series
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

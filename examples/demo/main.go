// Command demo starts caddy-cloudwatch-mcp with no AWS account: a local
// token issuer, a local CloudWatch stand-in seeded with demo data (the same
// wire-level fake the tests use), and a Caddy built with the plugin running
// examples/demo/Caddyfile. It prints a ready bearer token and the MCP client
// command to paste.
//
//	xcaddy build v2.11.9 --with github.com/mcpedge/caddy-cloudwatch-mcp@v0.0.0-00010101000000-000000000000=.
//	go run ./examples/demo
//
// With -check it calls a tool through Caddy once and exits, which is how CI
// proves the quick start works.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testissuer"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testport"
)

const demoRole = "arn:aws:iam::123456789012:role/demo-cloudwatch-reader"

func main() {
	caddyBin := flag.String("caddy", "./caddy", "Caddy binary built with the plugin (xcaddy build ...)")
	port := flag.Int("port", envInt("CLOUDWATCH_MCP_PORT", 8080), "port for the MCP endpoint on localhost (0 = any free port)")
	check := flag.Bool("check", false, "call one tool through Caddy, print the result and exit")
	flag.Parse()
	if err := run(*caddyBin, *port, *check); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(caddyBin string, port int, check bool) error {
	if _, err := os.Stat(caddyBin); err != nil {
		return fmt.Errorf("no Caddy binary at %s: build it in the repository root with\n  xcaddy build v2.11.9 --with github.com/mcpedge/caddy-cloudwatch-mcp@v0.0.0-00010101000000-000000000000=.\nor pass one with -caddy", caddyBin)
	}
	caddyfile, err := filepath.Abs(filepath.Join("examples", "demo", "Caddyfile"))
	if err != nil {
		return err
	}
	if _, err := os.Stat(caddyfile); err != nil {
		return fmt.Errorf("run the demo from the repository root (%v)", err)
	}

	issuer := testissuer.New()
	defer issuer.Close()
	fake := fakeaws.Start()
	defer fake.Close()
	seed(fake, issuer)
	// New lines keep arriving in the live-tailable demo group.
	stopTail, err := fakeaws.LogsOf(fake).StartDemoGenerator(2 * time.Second)
	if err != nil {
		return err
	}
	defer stopTail()

	state, err := os.MkdirTemp("", "cwmcp-demo")
	if err != nil {
		return err
	}
	defer os.RemoveAll(state)

	if port == 0 {
		if port, err = testport.Pick(); err != nil {
			return err
		}
	}
	adminPort, err := testport.Pick()
	if err != nil {
		return err
	}
	cmd := exec.Command(caddyBin, "run", "--config", caddyfile, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(),
		"DEMO_PORT="+strconv.Itoa(port),
		"DEMO_ADMIN_PORT="+strconv.Itoa(adminPort),
		"DEMO_STORAGE="+filepath.Join(state, "storage"),
		"DEMO_ISSUER="+issuer.Issuer(),
		"DEMO_ROLE="+demoRole,
		// Every AWS SDK client in Caddy talks to the local stand-in.
		"AWS_ENDPOINT_URL="+fake.URL,
		"AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
		"XDG_CONFIG_HOME="+filepath.Join(state, "config"),
		"XDG_DATA_HOME="+filepath.Join(state, "data"),
	)
	logFile, err := os.Create(filepath.Join(state, "caddy.log"))
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(5 * time.Second):
				_ = cmd.Process.Kill()
			}
		}
	}()

	endpoint := fmt.Sprintf("http://localhost:%d/mcp", port)
	if err := waitReady(endpoint, exited); err != nil {
		log, _ := os.ReadFile(logFile.Name())
		return fmt.Errorf("%v\n--- caddy log ---\n%s", err, tail(string(log), 40))
	}

	claims := issuer.OIDCAccessClaims("demo-user", endpoint).
		With("exp", time.Now().Add(12*time.Hour).Unix()).
		With("email", "demo-user@example.com").
		With("username", "demo-user")
	token := issuer.Mint(claims, testissuer.Typ("at+jwt"))

	if check {
		return selfCheck(endpoint, token)
	}

	fmt.Printf(`
caddy-cloudwatch-mcp demo is running.

  MCP endpoint   %[1]s
  DEMO DATA      CloudWatch here is a local stand-in seeded with sample log groups,
                 Insights results, metrics and alarms. Nothing talks to AWS.
  identity       a local dev issuer at %[2]s signed the token below
                 (user "demo-user", valid 12h); cognito_auth exchanges it for
                 demo credentials of role %[3]s.

Bearer token:

%[4]s

List the tools with the MCP Inspector CLI (Node 20+):

  npx @modelcontextprotocol/inspector --cli %[1]s --transport http --method tools/list --header "Authorization: Bearer %[4]s"

Call one:

  npx @modelcontextprotocol/inspector --cli %[1]s --transport http --method tools/call --tool-name describe_log_groups --header "Authorization: Bearer %[4]s"

Without a token you get the MCP authorization challenge:

  curl -i -X POST %[1]s

Press Ctrl-C to stop.
`, endpoint, issuer.Issuer(), demoRole, token)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	select {
	case <-sig:
		return nil
	case err := <-exited:
		return fmt.Errorf("caddy exited: %v (log: %s)", err, logFile.Name())
	}
}

// seed trusts the dev issuer for the demo role and fills the stand-in with
// demo data.
func seed(f *fakeaws.Fake, issuer *testissuer.Issuer) {
	f.AddOIDCProvider(fakeaws.OIDCProvider{Issuer: issuer.Issuer(), Keys: issuer.JWKS()})
	f.AddRole(fakeaws.Role{ARN: demoRole, WebIdentityIssuers: []string{issuer.Issuer()}, MaxSessionDuration: 12 * time.Hour})
	// demo-user may unmask /ecs/orders-service's masked data (logs:Unmask).
	fakeaws.LogsOf(f).SeedDemo().AllowUnmask("demo-user")
	// Metrics with a daily rhythm and a queue that keeps growing, so
	// analyze_metric has something to find and charts something to show.
	fakeaws.MetricsOf(f).SeedDemo()

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
	_ = a.AddMetricAlarm(fakeaws.MetricAlarm{
		Name: "web-cpu-high", Namespace: "AWS/EC2", MetricName: "CPUUtilization",
		Dimensions: []fakeaws.AlarmDimension{{Name: "InstanceId", Value: "i-0abc123def4567890"}},
		Statistic:  "Average", Period: 300, EvaluationPeriods: 2, Threshold: 80, ComparisonOperator: "GreaterThanThreshold",
		State: "OK", StateUpdated: now.Add(-2 * time.Hour),
	})
	_ = a.Flap("web-cpu-high", now.Add(-2*time.Hour), 10*time.Minute, 6)
}

// selfCheck lists the tools and calls describe_log_groups through Caddy,
// at the endpoint and with the trailing slash some clients add.
func selfCheck(endpoint, token string) error {
	for _, url := range []string{endpoint, endpoint + "/"} {
		out, err := mcpCall(url, token)
		if err != nil {
			return fmt.Errorf("%s: %w", url, err)
		}
		fmt.Println(out)
	}
	return nil
}

func waitReady(endpoint string, exited <-chan error) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("caddy exited early: %v", err)
		default:
		}
		resp, err := http.Post(endpoint, "application/json", strings.NewReader("{}"))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return errors.New("caddy did not answer on " + endpoint + " within 30s")
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

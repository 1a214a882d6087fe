package caddyfile

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
)

// The examples are what operators copy. These tests hold every Caddyfile
// under examples/ to what `caddy validate` does with it (adapt, then load
// and provision every module without listening), with the environment its
// header documents, and to the properties a deployment relies on.

// tripwire is an HTTP(S) proxy that only counts: TestMain points the
// process's proxy environment at it, so any request a module makes to a
// non-loopback address while provisioning lands here instead of the
// network (Go never proxies loopback addresses).
var tripwire struct {
	sync.Mutex
	hosts []string
}

func TestMain(m *testing.M) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tripwire.Lock()
		tripwire.hosts = append(tripwire.hosts, r.Host)
		tripwire.Unlock()
		http.Error(w, "tests make no outside requests", http.StatusBadGateway)
	}))
	for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"} {
		os.Setenv(k, srv.URL)
	}
	for _, k := range []string{"NO_PROXY", "no_proxy"} {
		os.Unsetenv(k)
	}
	code := m.Run()
	srv.Close()
	os.Exit(code)
}

func outsideRequests() []string {
	tripwire.Lock()
	defer tripwire.Unlock()
	return append([]string(nil), tripwire.hosts...)
}

// exampleFiles lists every Caddyfile operators get.
func exampleFiles(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob("../examples/*Caddyfile")
	demo, _ := filepath.Glob("../examples/demo/Caddyfile")
	files = append(files, demo...)
	if len(files) < 5 {
		t.Fatalf("expected the example Caddyfiles, found %v", files)
	}
	return files
}

// exampleDoc is what a Caddyfile's header comment documents and what its
// body reads from the environment.
type exampleDoc struct {
	file     string
	lines    []string
	required map[string]bool   // listed under a "Required" heading
	optional map[string]bool   // listed under an "Optional" heading
	example  map[string]string // NAME -> the "e.g." value of its line
	// uses maps each {$NAME} in the body to whether it has a :default.
	uses map[string]bool
	// runtime lists each {env.NAME} in the body: read when the config is
	// provisioned (secrets, so the adapted config never holds them), with
	// no default.
	runtime map[string]bool
}

var (
	headerVarRE = regexp.MustCompile(`^#\s+([A-Z][A-Z0-9_]+)\s+(.*)$`)
	exampleRE   = regexp.MustCompile(`e\.g\. (\S+)$`)
	envUseRE    = regexp.MustCompile(`\{\$([A-Za-z0-9_]+)(:[^}]*)?\}`)
	runtimeRE   = regexp.MustCompile(`\{env\.([A-Za-z0-9_]+)\}`)
)

func readExample(t *testing.T, file string) *exampleDoc {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	doc := &exampleDoc{file: file, required: map[string]bool{}, optional: map[string]bool{},
		example: map[string]string{}, uses: map[string]bool{}, runtime: map[string]bool{}}
	section := ""
	header := true
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	for sc.Scan() {
		line := sc.Text()
		doc.lines = append(doc.lines, line)
		if header && !strings.HasPrefix(line, "#") {
			header = false
		}
		if header {
			switch {
			case strings.HasPrefix(line, "# Required"):
				section = "required"
			case strings.HasPrefix(line, "# Optional"):
				section = "optional"
			}
			if m := headerVarRE.FindStringSubmatch(line); m != nil {
				switch section {
				case "required":
					doc.required[m[1]] = true
				case "optional":
					doc.optional[m[1]] = true
				}
				if e := exampleRE.FindStringSubmatch(m[2]); e != nil {
					doc.example[m[1]] = e[1]
				}
			}
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, m := range envUseRE.FindAllStringSubmatch(line, -1) {
			doc.uses[m[1]] = doc.uses[m[1]] || m[2] != ""
		}
		for _, m := range runtimeRE.FindAllStringSubmatch(line, -1) {
			doc.runtime[m[1]] = true
		}
	}
	return doc
}

func (d *exampleDoc) documented(name string) bool {
	for _, l := range d.lines {
		if !strings.HasPrefix(l, "#") {
			return false
		}
		if m := headerVarRE.FindStringSubmatch(l); m != nil && m[1] == name {
			return true
		}
	}
	return false
}

// production reports whether the file is meant for a real deployment
// (not the program-driven demo, not loopback-only development).
func (d *exampleDoc) production() bool {
	return !strings.Contains(filepath.ToSlash(d.file), "/demo/") && filepath.Base(d.file) != "local.Caddyfile"
}

// validateEnv sets the documented environment plus a sandbox: a fake AWS
// on loopback for every SDK client, no shared AWS config or instance
// metadata, and temporary Caddy data and config directories.
func validateEnv(t *testing.T, doc *exampleDoc, awsURL string) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", filepath.Join(dir, "data"))
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "aws-credentials-absent"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for _, k := range []string{"AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"} {
		unsetenv(t, k)
	}
	for name, value := range doc.example {
		t.Setenv(name, value)
	}
	t.Setenv("AWS_ENDPOINT_URL", awsURL)
	// A documented AWS_PROFILE names a profile of the operator's own AWS
	// config; give the sandbox one.
	cfg := ""
	if p := doc.example["AWS_PROFILE"]; p != "" {
		cfg = "[profile " + p + "]\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "aws-config"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "aws-config"))
	// The demo's storage must be writable; the e.g. path is illustrative.
	if _, ok := doc.uses["DEMO_STORAGE"]; ok {
		t.Setenv("DEMO_STORAGE", filepath.Join(dir, "storage"))
	}
}

func unsetenv(t *testing.T, name string) {
	t.Helper()
	t.Setenv(name, "") // restores the old value after the test
	os.Unsetenv(name)
}

// validate does what `caddy validate --config file` does.
func validate(file string) error {
	raw, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	out, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt(raw, map[string]any{"filename": file})
	if err != nil {
		return err
	}
	if len(warnings) > 0 {
		return fmt.Errorf("adapt warnings: %v", warnings)
	}
	var cfg *caddy.Config
	if err := caddy.StrictUnmarshalJSON(caddy.RemoveMetaFields(out), &cfg); err != nil {
		return fmt.Errorf("decoding config: %v", err)
	}
	return caddy.Validate(cfg)
}

// TestExamplesProvision runs `caddy validate` semantics over every example
// with the environment its header documents: every module loads and
// provisions. Provisioning fetches nothing: no AWS call reaches the fake
// AWS and no request leaves loopback.
func TestExamplesProvision(t *testing.T) {
	fake := fakeaws.Start()
	defer fake.Close()
	var awsCalls atomic.Int64
	fake.OnRequest(func(*http.Request, []byte) { awsCalls.Add(1) })

	for _, f := range exampleFiles(t) {
		t.Run(f, func(t *testing.T) {
			doc := readExample(t, f)
			for name, hasDefault := range doc.uses {
				if !doc.documented(name) {
					t.Errorf("%s reads {$%s} but its header does not document it", f, name)
				}
				if !hasDefault && doc.example[name] == "" {
					t.Errorf("%s: the header line of %s needs an \"e.g. <value>\" (the test provisions with it)", f, name)
				}
			}
			for name := range doc.runtime {
				if !doc.documented(name) || doc.example[name] == "" {
					t.Errorf("%s reads {env.%s} at start-up; its header must document it with an \"e.g. <value>\"", f, name)
				}
			}
			validateEnv(t, doc, fake.URL)
			before := len(outsideRequests())
			if err := validate(f); err != nil {
				t.Fatalf("%s does not validate with its documented environment: %v", f, err)
			}
			if n := awsCalls.Load(); n != 0 {
				t.Errorf("provisioning %s made %d AWS requests; it must fetch nothing", f, n)
			}
			if hosts := outsideRequests()[before:]; len(hosts) > 0 {
				t.Errorf("provisioning %s sent requests beyond loopback to %v; it must fetch nothing", f, hosts)
			}
		})
	}
}

// TestProductionExamplesRequireTheirSettings: a production example has no
// stand-in defaults (a Caddy that starts with a placeholder user pool or
// domain fails later and less clearly), so with any required variable
// missing or empty `caddy validate` fails, naming the file and a line that
// reads the variable.
func TestProductionExamplesRequireTheirSettings(t *testing.T) {
	fake := fakeaws.Start()
	defer fake.Close()
	n := 0
	for _, f := range exampleFiles(t) {
		doc := readExample(t, f)
		if !doc.production() {
			continue
		}
		n++
		if len(doc.required) == 0 {
			t.Errorf("%s: the header lists no Required environment", f)
		}
		for name, hasDefault := range doc.uses {
			switch {
			case doc.required[name] && hasDefault:
				t.Errorf("%s: required {$%s} has a default; a stand-in value would start a broken server", f, name)
			case !doc.required[name] && !hasDefault:
				t.Errorf("%s: {$%s} has no default but is not listed as Required", f, name)
			case hasDefault && !doc.optional[name]:
				t.Errorf("%s: {$%s} has a default but is not listed as Optional", f, name)
			}
		}
		for name := range doc.runtime {
			if !doc.required[name] {
				t.Errorf("%s: {env.%s} has no default but is not listed as Required", f, name)
			}
		}
		for _, name := range slices.Sorted(maps.Keys(doc.required)) {
			if _, used := doc.uses[name]; !used && !doc.runtime[name] {
				t.Errorf("%s documents %s as required but never reads it", f, name)
				continue
			}
			for _, mode := range []string{"empty", "unset"} {
				t.Run(filepath.Base(f)+"/"+name+"_"+mode, func(t *testing.T) {
					validateEnv(t, doc, fake.URL)
					if mode == "empty" {
						t.Setenv(name, "")
					} else {
						unsetenv(t, name)
					}
					err := validate(f)
					if err == nil {
						t.Fatalf("%s validates with %s %s; it must refuse to start", f, name, mode)
					}
					if _, adaptTime := doc.uses[name]; !adaptTime {
						// Read at start-up, past the Caddyfile: the error
						// names the placeholder instead of a line.
						if !strings.Contains(err.Error(), "{env."+name+"}") {
							t.Fatalf("with %s %s the error does not name {env.%s}: %v", name, mode, name, err)
						}
						return
					}
					line := errorLine(err, f)
					if line == 0 {
						t.Fatalf("with %s %s the error does not name %s:<line>: %v", name, mode, f, err)
					}
					if !strings.Contains(doc.lines[line-1], "{$"+name) {
						t.Errorf("with %s %s the error points at line %d (%q), which does not read it: %v",
							name, mode, line, strings.TrimSpace(doc.lines[line-1]), err)
					}
				})
			}
		}
	}
	if n < 3 {
		t.Fatalf("found %d production examples, want Caddyfile, oidc and identity-center", n)
	}
}

// errorLine returns the line of file that err names, or 0.
func errorLine(err error, file string) int {
	m := regexp.MustCompile(regexp.QuoteMeta(file) + `:(\d+)`).FindStringSubmatch(err.Error())
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestExamplesHaveNoAuthSwitch: no example may let the environment turn
// authentication off (the old `enabled {$ENABLE_AUTH:true}`): one wrong
// variable in production would open CloudWatch to anyone.
func TestExamplesHaveNoAuthSwitch(t *testing.T) {
	switchRE := regexp.MustCompile(`^\s*enabled\s+.*\{\$`)
	for _, f := range exampleFiles(t) {
		for i, line := range readExample(t, f).lines {
			if switchRE.MatchString(line) {
				t.Errorf("%s:%d: %q lets the environment switch cognito_auth off", f, i+1, strings.TrimSpace(line))
			}
		}
	}
}

// adapted is an example's JSON config as Caddy would load it.
type adapted struct {
	Apps struct {
		HTTP struct {
			Servers map[string]struct {
				Listen []string          `json:"listen"`
				Routes []json.RawMessage `json:"routes"`
			} `json:"servers"`
		} `json:"http"`
	} `json:"apps"`
}

type route struct {
	Match  []map[string]json.RawMessage `json:"match"`
	Handle []map[string]json.RawMessage `json:"handle"`
}

// handlerUse is one handler found in a server's route tree, with the
// matcher sets of every route on the way to it (outermost first).
type handlerUse struct {
	server string
	listen []string
	config map[string]json.RawMessage
	chain  [][]map[string]json.RawMessage
}

func adaptExample(t *testing.T, f string) adapted {
	t.Helper()
	var cfg adapted
	if err := json.Unmarshal(adaptJSON(t, f), &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// adaptJSON is an example's JSON config, with its documented environment.
func adaptJSON(t *testing.T, f string) []byte {
	t.Helper()
	validateEnv(t, readExample(t, f), "http://127.0.0.1:1") // adapt only: nothing is called
	raw, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt(raw, map[string]any{"filename": f})
	if err != nil {
		t.Fatalf("%s does not adapt: %v", f, err)
	}
	return out
}

// findHandlers walks every route tree (subroutes included) for handlers
// named name.
func findHandlers(t *testing.T, cfg adapted, name string) []handlerUse {
	t.Helper()
	var found []handlerUse
	var walk func(server string, listen []string, routes []json.RawMessage, chain [][]map[string]json.RawMessage)
	walk = func(server string, listen []string, routes []json.RawMessage, chain [][]map[string]json.RawMessage) {
		for _, raw := range routes {
			var r route
			if err := json.Unmarshal(raw, &r); err != nil {
				t.Fatal(err)
			}
			c := append(append([][]map[string]json.RawMessage{}, chain...), r.Match)
			for _, h := range r.Handle {
				var kind string
				_ = json.Unmarshal(h["handler"], &kind)
				if kind == name {
					found = append(found, handlerUse{server: server, listen: listen, config: h, chain: c})
				}
				if kind == "subroute" {
					var sub []json.RawMessage
					_ = json.Unmarshal(h["routes"], &sub)
					walk(server, listen, sub, c)
				}
			}
		}
	}
	for name, srv := range cfg.Apps.HTTP.Servers {
		walk(name, srv.Listen, srv.Routes, nil)
	}
	return found
}

// reaches reports whether a request for path passes every route matcher on
// the way to a handler. Host matchers count as met (the request is for
// the site); other matcher types fail the test until it learns them.
func reaches(t *testing.T, chain [][]map[string]json.RawMessage, path string) bool {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, nil)
	req = req.WithContext(context.WithValue(req.Context(), caddy.ReplacerCtxKey, caddy.NewReplacer()))
	for _, sets := range chain {
		if len(sets) == 0 {
			continue // a route without matchers matches everything
		}
		matched := false
		for _, set := range sets {
			all := true
			for kind, raw := range set {
				switch kind {
				case "host":
				case "path":
					var mp caddyhttp.MatchPath
					if err := json.Unmarshal(raw, &mp); err != nil {
						t.Fatal(err)
					}
					ok, err := mp.MatchWithError(req)
					if err != nil {
						t.Fatal(err)
					}
					all = all && ok
				default:
					t.Fatalf("matcher %q on the way to cloudwatch_mcp: teach reaches() about it", kind)
				}
			}
			matched = matched || all
		}
		if !matched {
			return false
		}
	}
	return true
}

// TestExamplesServeMCPWithTrailingSlash: clients that add a slash to the
// endpoint (/mcp/) reach the MCP server instead of the site's 404.
func TestExamplesServeMCPWithTrailingSlash(t *testing.T) {
	for _, f := range exampleFiles(t) {
		t.Run(f, func(t *testing.T) {
			uses := findHandlers(t, adaptExample(t, f), "cloudwatch_mcp")
			if len(uses) == 0 {
				t.Fatalf("%s has no cloudwatch_mcp", f)
			}
			for _, u := range uses {
				for _, p := range []string{"/mcp", "/mcp/"} {
					if !reaches(t, u.chain, p) {
						t.Errorf("%s: a request for %s does not reach cloudwatch_mcp", f, p)
					}
				}
				if reaches(t, u.chain, "/other") {
					t.Errorf("%s: cloudwatch_mcp answers every path, not only /mcp", f)
				}
			}
		})
	}
}

// TestExamplesKeepServerCredentialsOnLoopback: a cloudwatch_mcp that may
// sign with the server's own AWS credentials (credentials default or
// request_or_default) must listen on loopback addresses only. A bare
// site address listens on every interface, and a LAN client sending
// "Host: localhost" would use the server's keys (issue 18, item 7).
func TestExamplesKeepServerCredentialsOnLoopback(t *testing.T) {
	checked := 0
	for _, f := range exampleFiles(t) {
		t.Run(f, func(t *testing.T) {
			for _, u := range findHandlers(t, adaptExample(t, f), "cloudwatch_mcp") {
				var mode string
				_ = json.Unmarshal(u.config["credentials"], &mode)
				if mode != "default" && mode != "request_or_default" {
					continue
				}
				checked++
				if len(u.listen) == 0 {
					t.Errorf("%s: server %s uses the server's credentials and listens on Caddy's default (every interface); add bind 127.0.0.1 [::1]", f, u.server)
				}
				for _, l := range u.listen {
					if !loopbackListener(t, l) {
						t.Errorf("%s: server %s uses the server's credentials and listens on %s; bind it to 127.0.0.1 [::1]", f, u.server, l)
					}
				}
			}
		})
	}
	if checked == 0 {
		t.Fatal("no example uses credentials default; examples/local.Caddyfile should")
	}
}

func loopbackListener(t *testing.T, listen string) bool {
	t.Helper()
	addr, err := caddy.ParseNetworkAddress(listen)
	if err != nil {
		t.Fatalf("listen address %q: %v", listen, err)
	}
	if addr.IsUnixNetwork() {
		return true
	}
	ip := net.ParseIP(strings.Trim(addr.Host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// TestInternetExamplesLimitEachUser: every cognito_auth on a site served
// to the internet carries a per-user rate limit; Logs Insights is billed
// per GB scanned, and one runaway agent must not run up the bill.
func TestInternetExamplesLimitEachUser(t *testing.T) {
	checked := 0
	for _, f := range exampleFiles(t) {
		if !readExample(t, f).production() {
			continue
		}
		t.Run(f, func(t *testing.T) {
			uses := findHandlers(t, adaptExample(t, f), "cognito_auth")
			if len(uses) == 0 {
				t.Fatalf("%s has no cognito_auth", f)
			}
			for _, u := range uses {
				checked++
				if len(u.config["rate_limit"]) == 0 {
					t.Errorf("%s: cognito_auth has no rate_limit", f)
				}
			}
		})
	}
	if checked == 0 {
		t.Fatal("no production example checked")
	}
}

// TestLoginExamplesServeTheProxyAndKeepCodesOutOfLogs: an example with
// oauth_proxy puts cognito_auth where the login endpoints reach it (not
// inside a route for /mcp only), and its site's access log filters both
// one-time codes out: the identity provider's in the callback's URI and
// the proxy's own in the Location of its redirect.
func TestLoginExamplesServeTheProxyAndKeepCodesOutOfLogs(t *testing.T) {
	checked := 0
	for _, f := range exampleFiles(t) {
		t.Run(f, func(t *testing.T) {
			uses := findHandlers(t, adaptExample(t, f), "cognito_auth")
			var cfg struct {
				Logging struct {
					Logs map[string]struct {
						Encoder struct {
							Format string `json:"format"`
							Fields map[string]struct {
								Filter  string `json:"filter"`
								Actions []struct {
									Type, Parameter string
								} `json:"actions"`
							} `json:"fields"`
						} `json:"encoder"`
					} `json:"logs"`
				} `json:"logging"`
				Apps struct {
					HTTP struct {
						Servers map[string]struct {
							Logs struct {
								LoggerNames       map[string][]string `json:"logger_names"`
								DefaultLoggerName string              `json:"default_logger_name"`
							} `json:"logs"`
						} `json:"servers"`
					} `json:"http"`
				} `json:"apps"`
			}
			if err := json.Unmarshal(adaptJSON(t, f), &cfg); err != nil {
				t.Fatal(err)
			}
			for _, u := range uses {
				if len(u.config["oauth_proxy"]) == 0 {
					continue
				}
				checked++
				for _, p := range []string{"/.well-known/oauth-authorization-server", "/oauth/register", "/oauth/authorize", "/oauth/callback", "/oauth/token"} {
					if !reaches(t, u.chain, p) {
						t.Errorf("%s: %s does not reach cognito_auth, whose oauth_proxy serves it", f, p)
					}
				}
				logs := cfg.Apps.HTTP.Servers[u.server].Logs
				var names []string
				for _, n := range logs.LoggerNames {
					names = append(names, n...)
				}
				names = append(names, logs.DefaultLoggerName)
				filtered := map[string]bool{}
				for _, n := range names {
					enc := cfg.Logging.Logs[n].Encoder
					if enc.Format != "filter" {
						continue
					}
					for field, fl := range enc.Fields {
						for _, a := range fl.Actions {
							if fl.Filter == "query" && a.Parameter == "code" && (a.Type == "replace" || a.Type == "delete" || a.Type == "hash") {
								filtered[field] = true
							}
						}
					}
				}
				for _, field := range []string{"request>uri", "resp_headers>Location"} {
					if !filtered[field] {
						t.Errorf("%s: the access log of server %s does not filter the code out of %s", f, u.server, field)
					}
				}
			}
		})
	}
	if checked == 0 {
		t.Fatal("no example uses oauth_proxy; examples/login.Caddyfile should")
	}
}

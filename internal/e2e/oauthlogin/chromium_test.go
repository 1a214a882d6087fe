package oauthlogin

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/testport"
)

// chromiumPath finds the browser. Without one the test is skipped, except
// in CI (CI_REQUIRE_CHROMIUM=1), where a missing browser is a failure.
func chromiumPath(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI_REQUIRE_CHROMIUM") == "1" {
		t.Fatal("CI_REQUIRE_CHROMIUM=1 but no chromium on PATH (Debian package chromium)")
	}
	t.Skip("no chromium on PATH; install the Debian package chromium")
	return ""
}

// chromium starts a headless Chromium with a fresh profile, kept for the
// whole test.
func chromium(t *testing.T) context.Context {
	t.Helper()
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1000, 1100),
	)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // start the browser, without a deadline
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// artifactPath is where a test leaves a file for people to look at:
// $E2E_ARTIFACTS, else the system temp directory.
func artifactPath(name string) string {
	d := os.Getenv("E2E_ARTIFACTS")
	if d == "" {
		d = os.TempDir()
	}
	_ = os.MkdirAll(d, 0o755)
	return filepath.Join(d, name)
}

// chromiumLogin is a browse that clicks through the real pages in
// Chromium: the proxy's consent page (screenshot saved), then the fake
// Cognito login form, until Chromium lands on the client's loopback
// redirect listener.
func chromiumLogin(t *testing.T, browser context.Context, user, pass string, landed <-chan *url.URL, shot *string) browse {
	return func(ctx context.Context, authURL string) (*url.URL, error) {
		tctx, cancel := context.WithTimeout(browser, 60*time.Second)
		defer cancel()
		approve := chromedp.CSS(`button[value="approve"]`)
		if err := chromedp.Do(tctx, chromedp.Navigate(authURL), chromedp.WaitVisible(approve)); err != nil {
			return nil, fmt.Errorf("consent page: %w", err)
		}
		png, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
		if err != nil {
			return nil, err
		}
		*shot = artifactPath("oauth-proxy-consent-page.png")
		if err := os.WriteFile(*shot, png, 0o644); err != nil {
			return nil, err
		}
		page, _ := chromedp.Run(tctx, chromedp.OuterHTML(chromedp.CSS("html")))
		scan.Capture("chromium consent page", []byte(page))
		username := chromedp.CSS(`#signInFormUsername`)
		if err := chromedp.Do(tctx,
			chromedp.Click(approve),
			chromedp.WaitVisible(username),
			chromedp.SendKeys(username, user),
			chromedp.SendKeys(chromedp.CSS(`#signInFormPassword`), pass),
			chromedp.Click(chromedp.CSS(`button[name="signInSubmitButton"]`)),
		); err != nil {
			return nil, fmt.Errorf("hosted UI: %w", err)
		}
		select {
		case u := <-landed:
			return u, nil
		case <-tctx.Done():
			loc, _ := chromedp.Run(context.WithoutCancel(browser), chromedp.Location())
			return nil, fmt.Errorf("chromium did not reach the client's redirect URI (at %s)", loc)
		}
	}
}

// TestChromiumClicksThroughConsentAndHostedUI: a real browser renders and
// submits the consent page (binding cookie, CSRF token, Origin) and the
// hosted UI's login form; the Go SDK client behind it then calls a tool
// whose AWS request is signed with the user's own vended key.
func TestChromiumClicksThroughConsentAndHostedUI(t *testing.T) {
	browser := chromium(t)
	scan.Begin(t)
	port := testport.Free(t)
	endpoint := fmt.Sprintf("http://127.0.0.1:%d/mcp", port)
	startEdge(t, site{listen: port, resource: endpoint})
	fake.ResetCalls()

	// The client's loopback redirect listener, as a desktop client runs it.
	landed := make(chan *url.URL, 1)
	client := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case landed <- r.URL:
		default:
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><title>Signed in</title><p>Signed in. You can close this window.</p>")
	}))
	defer client.Close()
	redirect := client.URL + "/callback"

	var shot string
	session, logins := goSDKSession(t, endpoint, redirect, chromiumLogin(t, browser, alice, alicePass, landed, &shot))
	t.Logf("consent page screenshot: %s", shot)
	describeLogGroups(t, session)
	if *logins != 1 {
		t.Fatalf("%d logins", *logins)
	}
	wantSignedBy(t, alice)
}

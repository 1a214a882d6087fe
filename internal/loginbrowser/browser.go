// Package loginbrowser is a scripted browser for OAuth logins in tests: an
// http.Client with a cookie jar that follows redirects by hand, submits the
// login proxy's consent form (Approve or Deny) and a hosted UI's login form
// (username and password), and stops at the client's redirect URI, whose
// URL (with code, state and iss) it returns. It reads forms the way a
// browser does (every input of the form, the clicked button's name and
// value), so it exercises the real pages rather than a shortcut.
package loginbrowser

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// Browser drives one login. The zero value is not usable; use New.
type Browser struct {
	Client   *http.Client
	Username string
	Password string
	// Deny clicks Deny on the consent page instead of Approve.
	Deny bool
	// Pages collects every HTML page shown, for leak scans and assertions.
	Pages []Page
	// Stop reports whether a redirect target is the client's redirect URI
	// (the end of the login). Required; see StopAt.
	Stop func(*url.URL) bool
}

// Page is one HTML page the browser was shown.
type Page struct {
	URL    string
	Status int
	Body   string
}

// New returns a browser with a fresh cookie jar.
func New(username, password string, stop func(*url.URL) bool) *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{
		Client: &http.Client{
			Jar: jar,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
		Username: username,
		Password: password,
		Stop:     stop,
	}
}

// ErrNoRedirect is returned when the login ends on a page instead of at
// the client's redirect URI (an error page, a refused consent form).
var ErrNoRedirect = errors.New("login ended on a page, not at the client's redirect URI")

// Login opens authURL and clicks through until the browser is sent to
// the client's redirect URI, which it returns without requesting it.
func (b *Browser) Login(ctx context.Context, authURL string) (*url.URL, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return nil, err
	}
	for step := 0; step < 20; step++ {
		resp, err := b.Client.Do(req)
		if err != nil {
			return nil, err
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			loc, err := req.URL.Parse(resp.Header.Get("Location"))
			if err != nil {
				return nil, fmt.Errorf("bad Location: %v", err)
			}
			if b.stop(loc) {
				return loc, nil
			}
			if req, err = http.NewRequestWithContext(ctx, http.MethodGet, loc.String(), nil); err != nil {
				return nil, err
			}
			continue
		}
		b.Pages = append(b.Pages, Page{URL: req.URL.String(), Status: resp.StatusCode, Body: string(body)})
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%w: HTTP %d at %s", ErrNoRedirect, resp.StatusCode, req.URL.Path)
		}
		form, err := findForm(string(body))
		if err != nil {
			return nil, fmt.Errorf("%w: %v at %s", ErrNoRedirect, err, req.URL.Path)
		}
		values := form.values
		switch {
		case form.has("username") && form.has("password"):
			values.Set("username", b.Username)
			values.Set("password", b.Password)
			values = form.click("", values)
		case form.hasButton("decision"):
			choice := "approve"
			if b.Deny {
				choice = "deny"
			}
			values = form.click(choice, values)
		default:
			return nil, fmt.Errorf("%w: unknown form at %s", ErrNoRedirect, req.URL.Path)
		}
		action, err := req.URL.Parse(form.action)
		if err != nil {
			return nil, err
		}
		if req, err = http.NewRequestWithContext(ctx, http.MethodPost, action.String(), strings.NewReader(values.Encode())); err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		// A browser posting a form from a page sends that page's origin.
		req.Header.Set("Origin", action.Scheme+"://"+action.Host)
	}
	return nil, errors.New("too many steps")
}

func (b *Browser) stop(u *url.URL) bool { return b.Stop(u) }

// StopAt stops at redirects to redirectURI: same scheme, host, port and
// path (the query is the response).
func StopAt(redirectURI string) func(*url.URL) bool {
	want, err := url.Parse(redirectURI)
	if err != nil {
		panic("loginbrowser: bad redirect URI: " + err.Error())
	}
	return func(u *url.URL) bool {
		return u.Scheme == want.Scheme && u.Hostname() == want.Hostname() && u.Path == want.Path && u.Port() == want.Port()
	}
}

// form is the first form of a page.
type form struct {
	action  string
	values  url.Values // inputs (not buttons)
	buttons []button
}

type button struct{ name, value string }

func (f *form) has(name string) bool { _, ok := f.values[name]; return ok }

func (f *form) hasButton(name string) bool {
	for _, b := range f.buttons {
		if b.name == name {
			return true
		}
	}
	return false
}

// click adds the chosen submit button's name and value, as a browser does;
// value "" clicks the first button.
func (f *form) click(value string, v url.Values) url.Values {
	for _, b := range f.buttons {
		if value == "" || b.value == value {
			if b.name != "" {
				v.Set(b.name, b.value)
			}
			return v
		}
	}
	return v
}

func findForm(page string) (*form, error) {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return nil, err
	}
	var f *form
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "form":
				if f != nil {
					return // only the first form
				}
				f = &form{action: attr(n, "action"), values: url.Values{}}
			case "input":
				if f != nil && attr(n, "name") != "" {
					f.values.Set(attr(n, "name"), attr(n, "value"))
				}
			case "button":
				if f != nil && (attr(n, "type") == "" || attr(n, "type") == "submit") {
					f.buttons = append(f.buttons, button{attr(n, "name"), attr(n, "value")})
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if f == nil {
		return nil, errors.New("no form on the page")
	}
	return f, nil
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

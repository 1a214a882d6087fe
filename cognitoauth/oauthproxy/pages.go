package oauthproxy

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
)

//go:embed pages/*.html
var pageFiles embed.FS

var pages = template.Must(template.ParseFS(pageFiles, "pages/*.html"))

// pageHeaders are set on every HTML page: no caching, no framing (the
// consent page must never be clickjacked), no scripts, no third-party
// anything.
func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	// same-origin keeps the Origin header on the consent POST (a
	// no-referrer policy would make browsers send "Origin: null").
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'")
}

type errorPage struct {
	Server  string
	Title   string
	Message string
	Error   bool
}

// consentPage is what the consent page shows.
type consentPage struct {
	Server        string
	Title         string
	Error         bool
	ClientLabel   string
	ClientHost    string // for metadata-document clients: who published it
	RedirectHost  string
	RedirectLocal bool
	Access        []string
	Scopes        []scopeLine
	UpstreamHost  string
	Action        string
	Request       string
	CSRF          string
}

type scopeLine struct{ Name, Text string }

// scopeTexts describes well-known scopes in words; others are shown by
// name.
var scopeTexts = map[string]string{
	"openid":                        "Confirm who you are",
	"email":                         "See your email address",
	"profile":                       "See your name and profile",
	"phone":                         "See your phone number",
	"offline_access":                "Stay connected after you close the application",
	"aws.cognito.signin.user.admin": "Read and change your own user attributes",
}

func describeScopes(scopes []string) []scopeLine {
	out := make([]scopeLine, 0, len(scopes))
	for _, s := range scopes {
		t, ok := scopeTexts[s]
		if !ok {
			t = "Permission"
		}
		out = append(out, scopeLine{Name: s, Text: t})
	}
	return out
}

// renderPage writes a page, or a plain error if the template fails (it
// cannot with the embedded templates and these data types).
func renderPage(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		http.Error(w, "page unavailable", http.StatusInternalServerError)
		return
	}
	pageHeaders(w)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// showError answers a browser with an error page. It never redirects:
// errors shown here are those where the redirect target is not trusted.
func (s *Server) showError(w http.ResponseWriter, status int, title, message string) {
	renderPage(w, status, "error", errorPage{Server: s.serverName, Title: title, Message: message, Error: true})
}

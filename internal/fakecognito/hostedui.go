package fakecognito

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// pendingLogin is a hosted-UI session between the authorize request and
// the login form's POST.
type pendingLogin struct {
	client, redirectURI, scope, state, challenge, resource string
	csrf                                                   string
	expires                                                time.Time
}

var defaultScopes = []string{"openid", "email", "phone", "profile"}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signin</title>
<style>body{font-family:Arial,sans-serif;background:#fafafa;display:flex;justify-content:center;padding-top:60px}
.box{background:#fff;border:1px solid #ddd;border-radius:4px;padding:24px 32px;width:300px}
label{display:block;margin:12px 0 4px;font-size:14px}input[type=text],input[type=password]{width:100%;padding:8px;box-sizing:border-box}
.err{color:#b00020;font-size:14px}button{margin-top:16px;width:100%;padding:10px;background:#337ab7;color:#fff;border:0;border-radius:4px;font-size:15px}</style>
</head><body><div class="box">
<h3>Sign in with your username and password</h3>
{{if .Error}}<p class="err" id="loginErrorMessage">{{.Error}}</p>{{end}}
<form name="cognitoSignInForm" method="post" action="/login?session={{.Session}}">
<input type="hidden" name="_csrf" value="{{.CSRF}}">
<label for="signInFormUsername">Username</label>
<input id="signInFormUsername" name="username" type="text" autocapitalize="none" required>
<label for="signInFormPassword">Password</label>
<input id="signInFormPassword" name="password" type="password" required>
<button type="submit" name="signInSubmitButton">Sign in</button>
</form></div></body></html>`))

var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Error</title></head>
<body><h1>An error was encountered with the requested page.</h1><p>{{.}}</p></body></html>`))

// serveAuthorize is /oauth2/authorize: client and redirect URI problems
// go to the error page; other problems are redirected as OAuth errors;
// a good request gets the login form.
func (f *Fake) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f.mu.Lock()
	f.authLog = append(f.authLog, AuthorizeRequest{
		ClientID: q.Get("client_id"), RedirectURI: q.Get("redirect_uri"), Scope: q.Get("scope"),
		Resource: q.Get("resource"), CodeChallengeMethod: q.Get("code_challenge_method"),
		HasState: q.Get("state") != "", HasChallenge: q.Get("code_challenge") != "",
	})
	c := f.clients[q.Get("client_id")]
	f.mu.Unlock()
	if c == nil {
		http.Redirect(w, r, "/error?error=invalid_request&error_description=client+not+found", http.StatusFound)
		return
	}
	redirect := q.Get("redirect_uri")
	if !slices.Contains(c.CallbackURLs, redirect) {
		http.Redirect(w, r, "/error?error=redirect_mismatch", http.StatusFound)
		return
	}
	state := q.Get("state")
	fail := func(code string) {
		v := url.Values{"error": {code}}
		if state != "" {
			v.Set("state", state)
		}
		http.Redirect(w, r, redirect+"?"+v.Encode(), http.StatusFound)
	}
	if q.Get("response_type") != "code" {
		fail("unsupported_response_type")
		return
	}
	allowed := c.Scopes
	if len(allowed) == 0 {
		allowed = defaultScopes
	}
	for _, s := range strings.Fields(q.Get("scope")) {
		if !slices.Contains(allowed, s) {
			fail("invalid_scope")
			return
		}
	}
	if q.Get("code_challenge") != "" && q.Get("code_challenge_method") != "S256" {
		fail("invalid_request")
		return
	}
	scope := q.Get("scope")
	if scope == "" {
		scope = strings.Join(allowed, " ")
	}
	login := &pendingLogin{
		client: c.ID, redirectURI: redirect, scope: scope, state: state,
		challenge: q.Get("code_challenge"), resource: q.Get("resource"),
		csrf: randomString(24), expires: f.clock().Add(time.Hour),
	}
	id := randomString(24)
	f.mu.Lock()
	f.logins[id] = login
	f.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: "XSRF-TOKEN", Value: login.csrf, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	f.renderLogin(w, http.StatusOK, id, login.csrf, "")
}

func (f *Fake) renderLogin(w http.ResponseWriter, status int, session, csrf, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = loginPage.Execute(w, struct{ Session, CSRF, Error string }{session, csrf, msg})
}

// serveLogin takes the login form. A wrong password shows the form again;
// a right one redirects to the client's callback with a one-time code.
func (f *Fake) serveLogin(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	id := r.URL.Query().Get("session")
	f.mu.Lock()
	login := f.logins[id]
	f.mu.Unlock()
	if login == nil || f.clock().After(login.expires) {
		http.Redirect(w, r, "/error?error=invalid_request&error_description=login+session+expired", http.StatusFound)
		return
	}
	ck, err := r.Cookie("XSRF-TOKEN")
	if err != nil || ck.Value != login.csrf || r.PostForm.Get("_csrf") != login.csrf {
		http.Redirect(w, r, "/error?error=invalid_request&error_description=csrf", http.StatusFound)
		return
	}
	f.mu.Lock()
	u := f.users[r.PostForm.Get("username")]
	ok := u != nil && u.Password == r.PostForm.Get("password")
	if ok {
		delete(f.logins, id)
	}
	f.mu.Unlock()
	if !ok {
		f.renderLogin(w, http.StatusOK, id, login.csrf, "Incorrect username or password.")
		return
	}
	code := newUUID()
	f.mu.Lock()
	f.codes[code] = &issuedCode{
		client: login.client, redirectURI: login.redirectURI, scope: login.scope,
		challenge: login.challenge, resource: login.resource, user: u, expires: f.now().Add(CodeLifetime),
	}
	f.addSecret(code)
	f.mu.Unlock()
	v := url.Values{"code": {code}}
	if login.state != "" {
		v.Set("state", login.state)
	}
	sep := "?"
	if strings.Contains(login.redirectURI, "?") {
		sep = "&"
	}
	http.Redirect(w, r, login.redirectURI+sep+v.Encode(), http.StatusFound)
}

func (f *Fake) serveErrorPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	_ = errorPage.Execute(w, r.URL.Query().Get("error")+" "+r.URL.Query().Get("error_description"))
}

package fakeaws

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// This file holds what the vending services share (trusted issuers, roles,
// vended sessions, the fake's own token-signing key) plus STS itself:
// AssumeRoleWithWebIdentity (unsigned) and AssumeRole (signed).

func init() {
	Register(func(f *Fake) {
		f.Handle("sts", "AssumeRoleWithWebIdentity", stsAssumeRoleWithWebIdentity)
		f.Handle("sts", "AssumeRole", stsAssumeRole)
	})
}

// OIDCProvider is a JWT issuer the fake trusts, like an IAM OpenID Connect
// identity provider. It serves STS AssumeRoleWithWebIdentity, Cognito
// identity pool logins (the Logins key is Issuer without its scheme) and
// IAM Identity Center trusted token issuers alike.
type OIDCProvider struct {
	// Issuer must equal the token's iss claim exactly.
	Issuer string
	// ClientIDs are the accepted aud values. Empty accepts any aud, but a
	// token must still carry one, as AWS requires.
	ClientIDs []string
	// Keys verifies signatures (e.g. testissuer's JWKS()). Keys without an
	// alg member use the algorithm their type implies.
	Keys jwk.Set
	// Verify, when set, replaces Keys: it checks the signature and returns
	// the payload claims.
	Verify func(token string) (map[string]any, error)
}

// Role is an IAM role and the parts of its trust policy the fake enforces.
type Role struct {
	ARN string
	// MaxSessionDuration caps DurationSeconds; default 1h, as in IAM.
	MaxSessionDuration time.Duration
	// WebIdentityIssuers may assume the role with AssumeRoleWithWebIdentity
	// (token iss values). Empty: nobody.
	WebIdentityIssuers []string
	// AssumeRoleBy lists the key owners (see IssueCredentials and
	// AddCredentials) allowed to call AssumeRole. Empty: nobody.
	AssumeRoleBy []string
}

// Session describes credentials the vending services issued.
type Session struct {
	Op              string // operation that issued them
	Owner           string // the user: JWT sub (or AssumeRole's SourceIdentity / session name)
	RoleARN         string
	RoleSessionName string
	SourceIdentity  string
	Tags            map[string]string
	IdentityID      string // Cognito identity pools only
	Expires         time.Time
	// The issued secrets, so redaction tests know what must never appear.
	SecretAccessKey string
	SessionToken    string
}

// vending is the state shared by STS, Cognito Identity and Identity Center.
type vending struct {
	mu         sync.Mutex
	providers  map[string]*OIDCProvider // by issuer
	roles      map[string]*Role
	sessions   map[string]Session // access key ID -> session
	pools      map[string]*IdentityPool
	identities map[string]*identityRecord // identity ID -> record
	identityIx map[string]string          // pool|provider|subject -> identity ID
	apps       map[string]*SSOApplication
	ssoUsers   []*SSOUser
	ssoTokens  map[string]*ssoToken

	signKey jwk.Key // private: developer-identity and IdC id tokens
	pubKeys jwk.Set
}

func vendingOf(f *Fake) *vending {
	return f.State("vending", func() any {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic("fakeaws: " + err.Error())
		}
		k, _ := jwk.FromRaw(priv)
		_ = k.Set(jwk.KeyIDKey, "fakeaws-"+randHex(4))
		_ = k.Set(jwk.AlgorithmKey, jwa.EdDSA)
		pub, _ := k.PublicKey()
		set := jwk.NewSet()
		_ = set.AddKey(pub)
		return &vending{
			providers:  map[string]*OIDCProvider{},
			roles:      map[string]*Role{},
			sessions:   map[string]Session{},
			pools:      map[string]*IdentityPool{},
			identities: map[string]*identityRecord{},
			identityIx: map[string]string{},
			apps:       map[string]*SSOApplication{},
			ssoTokens:  map[string]*ssoToken{},
			signKey:    k,
			pubKeys:    set,
		}
	}).(*vending)
}

// AddOIDCProvider trusts a JWT issuer (replacing one with the same Issuer).
func (f *Fake) AddOIDCProvider(p OIDCProvider) {
	v := vendingOf(f)
	v.mu.Lock()
	v.providers[p.Issuer] = &p
	v.mu.Unlock()
}

// AddRole creates (or replaces) an IAM role.
func (f *Fake) AddRole(r Role) {
	if r.MaxSessionDuration == 0 {
		r.MaxSessionDuration = time.Hour
	}
	v := vendingOf(f)
	v.mu.Lock()
	v.roles[r.ARN] = &r
	v.mu.Unlock()
}

// Session returns what the vending services recorded about issued keys.
func (f *Fake) Session(accessKeyID string) (Session, bool) {
	v := vendingOf(f)
	v.mu.Lock()
	defer v.mu.Unlock()
	s, ok := v.sessions[accessKeyID]
	return s, ok
}

// issue mints credentials for a user and records the session.
func (v *vending) issue(f *Fake, s Session) (akid, secret, token string) {
	c := f.IssueCredentials(s.Owner, s.Expires)
	s.SecretAccessKey, s.SessionToken = c.SecretAccessKey, c.SessionToken
	v.mu.Lock()
	v.sessions[c.AccessKeyID] = s
	v.mu.Unlock()
	return c.AccessKeyID, c.SecretAccessKey, c.SessionToken
}

// tokenFault is why a presented JWT was refused; each service words it in
// its own way.
type tokenFault int

const (
	tokenMalformed tokenFault = iota + 1
	tokenUnknownIssuer
	tokenBadSignature
	tokenExpired
	tokenNoAudience
	tokenBadAudience
)

type tokenError struct {
	fault  tokenFault
	detail string
}

func (e *tokenError) Error() string { return e.detail }

// checkJWT verifies a presented token the way AWS does: the issuer must be
// trusted, the signature must verify against its keys, exp must lie ahead
// and an aud claim must be present (and accepted, when the provider lists
// client IDs). Access tokens without aud fail here, as on AWS.
func (v *vending) checkJWT(tok string, now time.Time) (map[string]any, *OIDCProvider, *tokenError) {
	msg, err := jws.Parse([]byte(tok))
	if err != nil || len(msg.Signatures()) != 1 {
		return nil, nil, &tokenError{tokenMalformed, "token is not a compact JWS"}
	}
	var unverified map[string]any
	if err := json.Unmarshal(msg.Payload(), &unverified); err != nil {
		return nil, nil, &tokenError{tokenMalformed, "token payload is not a JSON object"}
	}
	iss, _ := unverified["iss"].(string)
	v.mu.Lock()
	p := v.providers[iss]
	v.mu.Unlock()
	if p == nil {
		return nil, nil, &tokenError{tokenUnknownIssuer, iss}
	}
	claims, err := p.verify(tok)
	if err != nil {
		return nil, p, &tokenError{tokenBadSignature, err.Error()}
	}
	exp, ok := claims["exp"].(float64)
	if !ok {
		return nil, p, &tokenError{tokenMalformed, "missing exp"}
	}
	if !now.Before(time.Unix(int64(exp), 0)) {
		return nil, p, &tokenError{tokenExpired, fmt.Sprintf("%d >= %d", now.Unix(), int64(exp))}
	}
	aud := audiences(claims["aud"])
	if len(aud) == 0 {
		return nil, p, &tokenError{tokenNoAudience, "aud"}
	}
	if len(p.ClientIDs) > 0 && !slices.ContainsFunc(aud, func(a string) bool { return slices.Contains(p.ClientIDs, a) }) {
		return nil, p, &tokenError{tokenBadAudience, strings.Join(aud, ",")}
	}
	return claims, p, nil
}

func (p *OIDCProvider) verify(tok string) (map[string]any, error) {
	if p.Verify != nil {
		return p.Verify(tok)
	}
	if p.Keys == nil {
		return nil, errors.New("provider has no keys")
	}
	payload, err := jws.Verify([]byte(tok), jws.WithKeySet(p.Keys, jws.WithInferAlgorithmFromKey(true)))
	if err != nil {
		return nil, err
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, err
	}
	return claims, nil
}

// signJWT signs claims with the fake's own key (the Cognito Identity and
// Identity Center issuers).
func (v *vending) signJWT(claims map[string]any) string {
	b, _ := json.Marshal(claims)
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.TypeKey, "JWT")
	out, err := jws.Sign(b, jws.WithKey(jwa.EdDSA, v.signKey, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		panic("fakeaws: sign: " + err.Error())
	}
	return string(out)
}

// verifyOwnJWT checks a token the fake signed itself.
func (v *vending) verifyOwnJWT(tok string, now time.Time) (map[string]any, bool) {
	payload, err := jws.Verify([]byte(tok), jws.WithKeySet(v.pubKeys))
	if err != nil {
		return nil, false
	}
	var c map[string]any
	if json.Unmarshal(payload, &c) != nil {
		return nil, false
	}
	exp, _ := c["exp"].(float64)
	return c, now.Before(time.Unix(int64(exp), 0))
}

func audiences(v any) []string {
	switch t := v.(type) {
	case string:
		if t != "" {
			return []string{t}
		}
	case []any:
		var out []string
		for _, e := range t {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

var (
	sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	tagRE         = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
)

// duration applies the role's limits to DurationSeconds.
func (r *Role) duration(form map[string][]string) (time.Duration, *Error) {
	d := time.Hour
	if s := first(form, "DurationSeconds"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 900 || n > 43200 {
			return 0, Errorf("ValidationError", "1 validation error detected: Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200", s)
		}
		d = time.Duration(n) * time.Second
	}
	if d > r.MaxSessionDuration {
		return 0, Errorf("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	return d, nil
}

func first(form map[string][]string, k string) string {
	if v := form[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (v *vending) role(arn string) *Role {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.roles[arn]
}

func stsAssumeRoleWithWebIdentity(r *Request) (any, error) {
	v := vendingOf(r.Fake())
	roleARN, name, tok := r.Form.Get("RoleArn"), r.Form.Get("RoleSessionName"), r.Form.Get("WebIdentityToken")
	if !sessionNameRE.MatchString(name) {
		return nil, Errorf("ValidationError", "1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*", name)
	}
	claims, p, terr := v.checkJWT(tok, r.Now())
	if terr != nil {
		switch terr.fault {
		case tokenExpired:
			return nil, Errorf("ExpiredTokenException", "Token expired: current date/time %s must be before the expiration date/time", terr.detail)
		case tokenNoAudience:
			return nil, Errorf("InvalidIdentityToken", "Missing a required claim: aud")
		case tokenBadAudience:
			return nil, Errorf("InvalidIdentityToken", "Incorrect token audience")
		case tokenUnknownIssuer:
			return nil, Errorf("InvalidIdentityToken", "No OpenIDConnect provider found in your account for %s", terr.detail)
		case tokenBadSignature:
			return nil, Errorf("InvalidIdentityToken", "The web identity token that was passed could not be validated by AWS. Get a new identity token from the identity provider and then retry the request.")
		default:
			return nil, Errorf("InvalidIdentityToken", "The web identity token that was passed is malformed.")
		}
	}
	role := v.role(roleARN)
	if role == nil || !slices.Contains(role.WebIdentityIssuers, p.Issuer) {
		return nil, &Error{Status: 403, Code: "AccessDenied", Message: "Not authorized to perform sts:AssumeRoleWithWebIdentity"}
	}
	d, verr := role.duration(r.Form)
	if verr != nil {
		return nil, verr
	}
	sub, _ := claims["sub"].(string)
	exp := r.Now().Add(d)
	akid, secret, token := v.issue(r.Fake(), Session{Op: r.Op, Owner: sub, RoleARN: roleARN, RoleSessionName: name, Expires: exp})
	return stsXML("AssumeRoleWithWebIdentity", stsResult{
		Credentials:                 stsCredentials{akid, secret, token, exp.UTC().Format(time.RFC3339)},
		SubjectFromWebIdentityToken: sub,
		AssumedRoleUser:             assumedUser(roleARN, name),
		Provider:                    p.Issuer,
		Audience:                    strings.Join(audiences(claims["aud"]), ","),
	}), nil
}

func stsAssumeRole(r *Request) (any, error) {
	v := vendingOf(r.Fake())
	roleARN, name := r.Form.Get("RoleArn"), r.Form.Get("RoleSessionName")
	if !sessionNameRE.MatchString(name) {
		return nil, Errorf("ValidationError", "1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*", name)
	}
	src := r.Form.Get("SourceIdentity")
	if src != "" && !sessionNameRE.MatchString(src) {
		return nil, Errorf("ValidationError", "1 validation error detected: Value '%s' at 'sourceIdentity' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*", src)
	}
	// Role chaining: a SourceIdentity, once set, persists into every
	// chained session and cannot be changed (IAM User Guide, "Monitor and
	// control actions taken with assumed roles").
	v.mu.Lock()
	caller, chained := v.sessions[r.AccessKeyID]
	v.mu.Unlock()
	if chained && caller.SourceIdentity != "" {
		if src != "" && src != caller.SourceIdentity {
			return nil, &Error{Status: 403, Code: "AccessDenied", Message: fmt.Sprintf("User: %s is not authorized to perform: sts:SetSourceIdentity: the source identity %s of the session cannot be changed", r.Owner, caller.SourceIdentity)}
		}
		src = caller.SourceIdentity
	}
	tags := map[string]string{}
	for i := 1; ; i++ {
		k, ok := r.Form[fmt.Sprintf("Tags.member.%d.Key", i)]
		if !ok {
			break
		}
		val := r.Form.Get(fmt.Sprintf("Tags.member.%d.Value", i))
		key := k[0]
		if n := utf8.RuneCountInString(key); n < 1 || n > 128 || !tagRE.MatchString(key) || utf8.RuneCountInString(val) > 256 || !tagRE.MatchString(val) {
			return nil, Errorf("ValidationError", "1 validation error detected: session tag %q is invalid", key)
		}
		if _, dup := tags[strings.ToLower(key)]; dup {
			return nil, Errorf("InvalidParameterValue", "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		tags[strings.ToLower(key)] = val
	}
	if len(tags) > 50 {
		return nil, Errorf("ValidationError", "too many session tags")
	}
	role := v.role(roleARN)
	if role == nil || !slices.Contains(role.AssumeRoleBy, r.Owner) {
		return nil, &Error{Status: 403, Code: "AccessDenied", Message: fmt.Sprintf("User: %s is not authorized to perform: sts:AssumeRole on resource: %s", r.Owner, roleARN)}
	}
	d, verr := role.duration(r.Form)
	if verr != nil {
		return nil, verr
	}
	owner := src
	if owner == "" {
		owner = name
	}
	exp := r.Now().Add(d)
	akid, secret, token := v.issue(r.Fake(), Session{Op: r.Op, Owner: owner, RoleARN: roleARN, RoleSessionName: name, SourceIdentity: src, Tags: tags, Expires: exp})
	return stsXML("AssumeRole", stsResult{
		Credentials:     stsCredentials{akid, secret, token, exp.UTC().Format(time.RFC3339)},
		AssumedRoleUser: assumedUser(roleARN, name),
		SourceIdentity:  src,
	}), nil
}

func assumedUser(roleARN, session string) *stsAssumedUser {
	// arn:aws:iam::<acct>:role/<path/name> -> arn:aws:sts::<acct>:assumed-role/<name>/<session>
	parts := strings.SplitN(roleARN, ":", 6)
	acct, name := "000000000000", roleARN
	if len(parts) == 6 {
		acct = parts[4]
		name = parts[5][strings.LastIndex(parts[5], "/")+1:]
	}
	return &stsAssumedUser{
		Arn:           "arn:aws:sts::" + acct + ":assumed-role/" + name + "/" + session,
		AssumedRoleID: "AROA" + strings.ToUpper(randHex(8)) + ":" + session,
	}
}

type stsCredentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

type stsAssumedUser struct {
	Arn           string `xml:"Arn"`
	AssumedRoleID string `xml:"AssumedRoleId"`
}

type stsResult struct {
	Credentials                 stsCredentials  `xml:"Credentials"`
	SubjectFromWebIdentityToken string          `xml:"SubjectFromWebIdentityToken,omitempty"`
	AssumedRoleUser             *stsAssumedUser `xml:"AssumedRoleUser"`
	Provider                    string          `xml:"Provider,omitempty"`
	Audience                    string          `xml:"Audience,omitempty"`
	SourceIdentity              string          `xml:"SourceIdentity,omitempty"`
}

// stsXML renders <OpResponse><OpResult>…</OpResult><ResponseMetadata/></OpResponse>
// with proper escaping.
func stsXML(op string, res stsResult) RawXML {
	type metadata struct {
		RequestID string `xml:"RequestId"`
	}
	type response struct {
		XMLName  xml.Name
		Xmlns    string    `xml:"xmlns,attr"`
		Result   stsResult `xml:"Result"`
		Metadata metadata  `xml:"ResponseMetadata"`
	}
	b, err := xml.Marshal(response{
		XMLName: xml.Name{Local: op + "Response"}, Xmlns: "https://sts.amazonaws.com/doc/2011-06-15/",
		Result: res, Metadata: metadata{RequestID: randHex(16)},
	})
	if err != nil {
		panic("fakeaws: " + err.Error())
	}
	// encoding/xml cannot name a field after the operation; rename it.
	s := strings.Replace(string(b), "<Result>", "<"+op+"Result>", 1)
	s = strings.Replace(s, "</Result>", "</"+op+"Result>", 1)
	return RawXML(s)
}

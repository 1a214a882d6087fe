package oauthproxy

import (
	"crypto/sha256"
	"encoding/json"
	"time"
)

// The purposes of sealed records, bound into each seal's additional data.
const (
	purposeClient  = "client"  // a dynamic registration: the client_id itself
	purposeConsent = "consent" // the consent form's pending authorization request
	purposeState   = "state"   // the state sent to the upstream authorize endpoint
	purposeCode    = "code"    // the proxy's authorization code
	purposeRefresh = "refresh" // the proxy's refresh token
)

// Lifetimes of the records that expire. Registrations and refresh tokens
// do not: a registration lives as long as its sealing key, and the
// upstream decides how long its refresh token works.
const (
	consentLifetime = 15 * time.Minute // from the consent page to Approve
	stateLifetime   = 30 * time.Minute // from Approve through the upstream login to the callback
	codeLifetime    = 2 * time.Minute  // from the callback to the token request
	bindingLifetime = stateLifetime    // the browser-binding cookie
)

// clientRecord is a validated dynamic registration.
type clientRecord struct {
	RedirectURIs []string `json:"r"`
	Name         string   `json:"n,omitempty"`
	IssuedAt     int64    `json:"i"`
}

// consentRecord is the authorization request the consent form carries
// from the page to the Approve or Deny POST.
type consentRecord struct {
	ClientID    string `json:"c"`
	RedirectURI string `json:"r"`
	State       string `json:"s"`
	Challenge   string `json:"p"`
	Bind        string `json:"b"` // digest of the browser-binding cookie
	Exp         int64  `json:"e"`
}

// stateRecord travels through the upstream login as its state parameter.
type stateRecord struct {
	Client      string `json:"c"` // clientDigest of the client_id
	RedirectURI string `json:"r"`
	State       string `json:"s"`
	Challenge   string `json:"p"`
	Bind        string `json:"b"`
	Verifier    string `json:"v"` // the proxy's own PKCE verifier with the upstream
	Exp         int64  `json:"e"`
}

// codeRecord is the proxy's authorization code: everything the token
// endpoint needs to check the client's request and redeem the upstream
// code.
type codeRecord struct {
	ID          string `json:"j"` // single-use identifier
	Client      string `json:"c"`
	RedirectURI string `json:"r"`
	Challenge   string `json:"p"`
	Upstream    string `json:"u"` // the upstream's authorization code
	Verifier    string `json:"v"`
	Exp         int64  `json:"e"`
}

// refreshRecord wraps the upstream refresh token for one client.
type refreshRecord struct {
	Client   string `json:"c"`
	Upstream string `json:"u"`
	IssuedAt int64  `json:"i"`
}

func (r *consentRecord) expiry() int64 { return r.Exp }
func (r *stateRecord) expiry() int64   { return r.Exp }
func (r *codeRecord) expiry() int64    { return r.Exp }
func (r *clientRecord) expiry() int64  { return 0 }
func (r *refreshRecord) expiry() int64 { return 0 }

type record interface{ expiry() int64 }

// seal encodes and seals a record.
func (s *Server) seal(purpose string, v record) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic("oauthproxy: marshal " + purpose + ": " + err.Error()) // plain structs of strings and ints
	}
	return s.keys.Seal(purpose, b)
}

// open unseals a record and checks its expiry; every failure is errSeal.
func (s *Server) open(purpose, sealed string, v record) error {
	b, err := s.keys.Open(purpose, sealed)
	if err != nil {
		return errSeal
	}
	if json.Unmarshal(b, v) != nil {
		return errSeal
	}
	if exp := v.expiry(); exp != 0 && s.now().Unix() > exp {
		return errSeal
	}
	return nil
}

// clientDigest names a client inside flow records without carrying its
// whole client_id (a sealed registration or a URL) through the upstream.
func clientDigest(clientID string) string {
	sum := sha256.Sum256([]byte("oauthproxy client\x00" + clientID))
	return b64.EncodeToString(sum[:18])
}

// bindDigest is what flow records keep of the browser-binding cookie.
func bindDigest(cookie string) string {
	sum := sha256.Sum256([]byte("oauthproxy binding\x00" + cookie))
	return b64.EncodeToString(sum[:18])
}

package cognitoauth

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// Vending configures how a verified identity is exchanged for short-lived
// AWS credentials. At most one mode may be set; none means identity only.
//
// (Placeholder owned by the vending work: fields, provisioning and the
// exchange itself land in vend_*.go files.)
type Vending struct{}

// provisionVending prepares the configured vending mode.
func (v *Vending) provisionVending(ctx caddy.Context, m *CognitoAuth) error { return nil }

// validateVending checks the vending configuration without side effects.
func (v *Vending) validateVending() error { return nil }

// cleanupVending releases whatever provisionVending acquired.
func (v *Vending) cleanupVending() error { return nil }

// vend exchanges the verified identity for AWS credentials and stores them in
// the request vars. It returns a caddyhttp.Error (403/503) the caller returns
// as-is. It is a no-op when no vending mode is configured.
func (v *Vending) vend(r *http.Request, id *Identity, rawToken string) error { return nil }

// unmarshalVendingOption parses one vending subdirective. It reports whether
// the name was a vending option at all.
func (v *Vending) unmarshalVendingOption(d *caddyfile.Dispenser) (bool, error) { return false, nil }

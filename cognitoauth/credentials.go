package cognitoauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"go.uber.org/zap/zapcore"
)

// redacted replaces secrets wherever credentials are rendered.
const redacted = "REDACTED"

// Credentials are one caller's vended AWS credentials, stored in the
// cognito_auth.aws_credentials var. They implement aws.CredentialsProvider,
// so another module passes them straight to an SDK client:
//
//	p, _ := caddyhttp.GetVar(r.Context(), "cognito_auth.aws_credentials").(aws.CredentialsProvider)
//	client := cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) { o.Credentials = p })
//
// Every way of rendering them (placeholders, fmt verbs, JSON, zap fields,
// log_append) shows the access key ID and expiry but never the secret key
// or the session token. The secrets live only inside a closure, so even
// reflection-based dumps of an enclosing struct (which bypass these
// methods) print a function address. Values are immutable and shared by
// the requests of one user.
type Credentials struct {
	accessKeyID string
	secrets     func() (secretAccessKey, sessionToken string)
	expires     time.Time
	accountID   string // the AWS account the credentials act in, when the exchange said
	mode        string
	identityID  string // Cognito identity ID (identity_pool)
	roleSession string // RoleSessionName (role_arn, assume_role)
	now         func() time.Time

	// Boxed once so that a cache hit sets placeholders without allocating.
	identityIDAny, roleSessionAny any
}

func newCredentials(c aws.Credentials, mode, identityID, roleSession string, now func() time.Time) *Credentials {
	return &Credentials{
		accessKeyID:    c.AccessKeyID,
		secrets:        func() (string, string) { return c.SecretAccessKey, c.SessionToken },
		expires:        c.Expires,
		accountID:      c.AccountID,
		mode:           mode,
		identityID:     identityID,
		roleSession:    roleSession,
		now:            now,
		identityIDAny:  identityID,
		roleSessionAny: roleSession,
	}
}

// errCredentialsExpired is returned by Retrieve once the credentials have
// expired; the next request through cognito_auth gets fresh ones.
var errCredentialsExpired = errors.New("cognito_auth: vended AWS credentials have expired; retry the request")

// Retrieve implements aws.CredentialsProvider. It refuses to hand out
// expired credentials rather than let AWS reject the signed call.
func (c Credentials) Retrieve(context.Context) (aws.Credentials, error) {
	if c.secrets == nil {
		return aws.Credentials{}, errors.New("cognito_auth: empty credentials")
	}
	if c.Expired() {
		return aws.Credentials{}, errCredentialsExpired
	}
	secret, token := c.secrets()
	return aws.Credentials{
		AccessKeyID:     c.accessKeyID,
		SecretAccessKey: secret,
		SessionToken:    token,
		Source:          "cognito_auth/" + c.mode,
		CanExpire:       true,
		Expires:         c.expires,
		// Lets a consumer that shares something per account (cloudwatch_mcp's
		// Logs Insights polling budget) skip an STS GetCallerIdentity.
		AccountID: c.accountID,
	}, nil
}

// Expires is when the credentials stop working.
func (c Credentials) Expires() time.Time { return c.expires }

// Expired reports whether the credentials have expired.
func (c Credentials) Expired() bool {
	now := time.Now
	if c.now != nil {
		now = c.now
	}
	return !now().Before(c.expires)
}

// AccessKeyID is the (non-secret) access key ID, e.g. for audit logs.
func (c Credentials) AccessKeyID() string { return c.accessKeyID }

// IdentityID is the Cognito identity ID (identity_pool mode), else "".
func (c Credentials) IdentityID() string { return c.identityID }

// RoleSessionName is the STS role session name (role_arn and assume_role
// modes), else "".
func (c Credentials) RoleSessionName() string { return c.roleSession }

// String renders the credentials with the secrets redacted; Caddy uses it
// for {http.vars.cognito_auth.aws_credentials}.
func (c Credentials) String() string {
	return fmt.Sprintf("AWSCredentials{mode: %s, access_key_id: %s, secret_access_key: %s, session_token: %s, expires: %s}",
		c.mode, c.accessKeyID, redacted, redacted, c.expires.UTC().Format(time.RFC3339))
}

// GoString redacts %#v.
func (c Credentials) GoString() string { return "cognitoauth." + c.String() }

// Format makes every fmt verb (%d and %x included, which would otherwise
// walk the fields) print the redacted form.
func (c Credentials) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(c.GoString()))
		return
	}
	_, _ = f.Write([]byte(c.String()))
}

// MarshalJSON redacts the secrets in JSON (templates, debug dumps).
func (c Credentials) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Mode            string    `json:"mode"`
		AccessKeyID     string    `json:"access_key_id"`
		SecretAccessKey string    `json:"secret_access_key"`
		SessionToken    string    `json:"session_token"`
		Expires         time.Time `json:"expires"`
		IdentityID      string    `json:"identity_id,omitempty"`
		RoleSession     string    `json:"role_session,omitempty"`
	}{c.mode, c.accessKeyID, redacted, redacted, c.expires.UTC(), c.identityID, c.roleSession})
}

// MarshalLogObject redacts the secrets in zap logs, including log_append.
func (c Credentials) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("mode", c.mode)
	enc.AddString("access_key_id", c.accessKeyID)
	enc.AddString("secret_access_key", redacted)
	enc.AddString("session_token", redacted)
	enc.AddTime("expires", c.expires)
	if c.identityID != "" {
		enc.AddString("identity_id", c.identityID)
	}
	if c.roleSession != "" {
		enc.AddString("role_session", c.roleSession)
	}
	return nil
}

// Interface guards
var (
	_ aws.CredentialsProvider = (*Credentials)(nil)
	_ fmt.Stringer            = (*Credentials)(nil)
	_ fmt.GoStringer          = (*Credentials)(nil)
	_ fmt.Formatter           = (*Credentials)(nil)
	_ json.Marshaler          = (*Credentials)(nil)
	_ zapcore.ObjectMarshaler = (*Credentials)(nil)
)

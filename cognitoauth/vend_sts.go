package cognitoauth

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/awsname"
)

// webIdentityMode vends with STS AssumeRoleWithWebIdentity (role_arn): the
// bearer token itself is the web identity, no server credentials needed.
type webIdentityMode struct {
	role     string
	scope    string
	duration int32
	client   *sts.Client
}

func newWebIdentityMode(cfg aws.Config, role string, d time.Duration) *webIdentityMode {
	return &webIdentityMode{role: role, scope: "role_arn\x00" + role, duration: int32(d / time.Second), client: sts.NewFromConfig(cfg)}
}

func (w *webIdentityMode) name() string { return "role_arn" }

// check spares AWS a call it always refuses: STS requires an aud claim.
func (w *webIdentityMode) check(id *Identity) *authError {
	if len(id.Audience) == 0 {
		return &authError{status: http.StatusForbidden, code: "invalid_token",
			reason: "AWS credentials for this resource require a token with an aud claim, such as an ID token"}
	}
	return nil
}

func (w *webIdentityMode) key(*Identity) credKey { return credKey{scope: w.scope} }

func (w *webIdentityMode) endpoints(ctx context.Context) ([]string, error) {
	return stsEndpoints(ctx, w.client)
}

func (w *webIdentityMode) exchange(ctx context.Context, id *Identity, token string, _ *Credentials) (vended, error) {
	name := roleSessionName(id)
	out, err := w.client.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: &w.role, RoleSessionName: &name, WebIdentityToken: &token, DurationSeconds: &w.duration,
	})
	if err != nil {
		return vended{}, &awsCallError{op: "AssumeRoleWithWebIdentity", err: err}
	}
	return stsVended("AssumeRoleWithWebIdentity", out.Credentials, out.AssumedRoleUser, name)
}

// assumeRoleMode vends with STS AssumeRole (assume_role), signed with the
// server's credentials, one session per user.
type assumeRoleMode struct {
	role     string
	scope    string
	duration int32
	client   *sts.Client
}

func newAssumeRoleMode(cfg aws.Config, role string, d time.Duration) *assumeRoleMode {
	return &assumeRoleMode{role: role, scope: "assume_role\x00" + role, duration: int32(d / time.Second), client: sts.NewFromConfig(cfg)}
}

func (a *assumeRoleMode) name() string               { return "assume_role" }
func (a *assumeRoleMode) check(*Identity) *authError { return nil }
func (a *assumeRoleMode) key(*Identity) credKey      { return credKey{scope: a.scope} }

func (a *assumeRoleMode) endpoints(ctx context.Context) ([]string, error) {
	return stsEndpoints(ctx, a.client)
}

// stsEndpoints is where the STS client sends its calls (regional, or
// AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL).
func stsEndpoints(ctx context.Context, c *sts.Client) ([]string, error) {
	o := c.Options()
	return resolvedURL(o.EndpointResolverV2.ResolveEndpoint(ctx, sts.EndpointParameters{Region: &o.Region,
		Endpoint: o.BaseEndpoint, UseFIPS: isFIPS(o.EndpointOptions.UseFIPSEndpoint), UseDualStack: isDualStack(o.EndpointOptions.UseDualStackEndpoint)}))
}

func (a *assumeRoleMode) exchange(ctx context.Context, id *Identity, _ string, _ *Credentials) (vended, error) {
	// The session name doubles as SourceIdentity: unique per issuer and
	// sub, and what cloudwatch_mcp repeats when it chains into accounts.
	name := roleSessionName(id)
	in := &sts.AssumeRoleInput{RoleArn: &a.role, RoleSessionName: &name, SourceIdentity: &name,
		DurationSeconds: &a.duration, Tags: sessionTags(id)}
	out, err := a.client.AssumeRole(ctx, in)
	if err != nil {
		return vended{}, &awsCallError{op: "AssumeRole", signed: true, err: err}
	}
	return stsVended("AssumeRole", out.Credentials, out.AssumedRoleUser, name)
}

// tagValuePattern is what STS accepts in a session tag value.
var tagValuePattern = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)

// sessionTags tags the session with the user's sub and issuer (a sub is
// unique only per issuer: a policy on aws:PrincipalTag/sub must match iss
// too, or use aws:SourceIdentity), email and client_id, skipping values
// STS would reject rather than failing the exchange.
func sessionTags(id *Identity) []ststypes.Tag {
	var tags []ststypes.Tag
	for _, kv := range [...][2]string{{"sub", id.Subject}, {"iss", id.Issuer}, {"email", id.Email}, {"client_id", id.ClientID}} {
		if kv[1] == "" || utf8.RuneCountInString(kv[1]) > 256 || !tagValuePattern.MatchString(kv[1]) {
			continue
		}
		tags = append(tags, ststypes.Tag{Key: aws.String(kv[0]), Value: aws.String(kv[1])})
	}
	return tags
}

// The account is the assumed role's, read from the session's ARN
// (arn:aws:sts::<account>:assumed-role/<role>/<session>).
func stsVended(op string, c *ststypes.Credentials, user *ststypes.AssumedRoleUser, session string) (vended, error) {
	if c == nil || c.AccessKeyId == nil || c.SecretAccessKey == nil || c.Expiration == nil {
		return vended{}, &awsCallError{op: op, err: errors.New("response without credentials")}
	}
	return vended{
		creds: aws.Credentials{
			AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, SessionToken: aws.ToString(c.SessionToken),
			CanExpire: true, Expires: *c.Expiration,
			AccountID: accountOfARN(user),
		},
		roleSession: session,
	}, nil
}

// roleSessionName is the user's name in AWS (internal/awsname): the sub,
// readable, and a hash of issuer and sub, so two issuers' users never
// share a session name or SourceIdentity.
func roleSessionName(id *Identity) string {
	return awsname.Session(id.Issuer, id.Subject)
}

// accountOfARN is the account field of the assumed-role user's ARN, or ""
// when STS did not send one that looks right.
func accountOfARN(user *ststypes.AssumedRoleUser) string {
	if user == nil {
		return ""
	}
	parts := strings.SplitN(aws.ToString(user.Arn), ":", 6)
	if len(parts) == 6 && accountIDPattern.MatchString(parts[4]) {
		return parts[4]
	}
	return ""
}

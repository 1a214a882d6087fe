package cognitoauth

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentity"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/awsname"
)

// cognitoIdentityLogin is the Logins key of tokens that Cognito Identity
// issued itself (developer-authenticated identities).
const cognitoIdentityLogin = "cognito-identity.amazonaws.com"

// identityPoolMode vends through a Cognito identity pool, enhanced flow.
type identityPoolMode struct {
	cfg    IdentityPoolVending
	scope  string
	client *cognitoidentity.Client
}

func newIdentityPoolMode(awsCfg aws.Config, cfg *IdentityPoolVending) *identityPoolMode {
	region := identityPoolPattern.FindStringSubmatch(cfg.ID)[1]
	return &identityPoolMode{
		cfg:   *cfg,
		scope: "identity_pool\x00" + cfg.ID + "\x00" + cfg.CustomRoleARN,
		// Identity pools answer only in their own region.
		client: cognitoidentity.NewFromConfig(awsCfg, func(o *cognitoidentity.Options) { o.Region = region }),
	}
}

func (p *identityPoolMode) name() string { return "identity_pool" }

// check refuses access tokens unless developer identities can stand in:
// the pool would refuse them anyway ("Missing a required claim: aud").
func (p *identityPoolMode) check(id *Identity) *authError {
	if id.TokenType != "id" && p.cfg.DeveloperProvider == "" {
		return &authError{status: http.StatusForbidden, code: "invalid_token",
			reason: "AWS credentials for this resource require an ID token, not an access token"}
	}
	return nil
}

// key includes the flow (the two flows yield different identities) and the
// groups, because pool rules can pick the role from cognito:groups.
func (p *identityPoolMode) key(id *Identity) credKey {
	flow := "id"
	if id.TokenType != "id" {
		flow = "dev"
	}
	return credKey{scope: p.scope, flow: flow, groups: id.groupsJoined}
}

func (p *identityPoolMode) endpoints(ctx context.Context) ([]string, error) {
	o := p.client.Options()
	return resolvedURL(o.EndpointResolverV2.ResolveEndpoint(ctx, cognitoidentity.EndpointParameters{Region: &o.Region,
		Endpoint: o.BaseEndpoint, UseFIPS: isFIPS(o.EndpointOptions.UseFIPSEndpoint), UseDualStack: isDualStack(o.EndpointOptions.UseDualStackEndpoint)}))
}

func (p *identityPoolMode) exchange(ctx context.Context, id *Identity, token string, prev *Credentials) (vended, error) {
	var (
		identityID string
		logins     map[string]string
	)
	if id.TokenType == "id" {
		logins = map[string]string{loginsKey(id.Issuer): token}
		if prev != nil {
			identityID = prev.identityID // stable per user: skip GetId on renewal
		} else {
			out, err := p.client.GetId(ctx, &cognitoidentity.GetIdInput{IdentityPoolId: &p.cfg.ID, Logins: logins})
			if err != nil {
				return vended{}, &awsCallError{op: "GetId", err: err}
			}
			identityID = aws.ToString(out.IdentityId)
		}
	} else {
		// Developer-authenticated identity: the server vouches for the
		// user (whose access token we verified) with its own credentials.
		// The developer user identifier names issuer and sub, so two
		// issuers' users with the same sub are two identities.
		out, err := p.client.GetOpenIdTokenForDeveloperIdentity(ctx, &cognitoidentity.GetOpenIdTokenForDeveloperIdentityInput{
			IdentityPoolId: &p.cfg.ID,
			Logins:         map[string]string{p.cfg.DeveloperProvider: awsname.Session(id.Issuer, id.Subject)},
		})
		if err != nil {
			return vended{}, &awsCallError{op: "GetOpenIdTokenForDeveloperIdentity", signed: true, err: err}
		}
		identityID = aws.ToString(out.IdentityId)
		logins = map[string]string{cognitoIdentityLogin: aws.ToString(out.Token)}
	}
	in := &cognitoidentity.GetCredentialsForIdentityInput{IdentityId: &identityID, Logins: logins}
	if p.cfg.CustomRoleARN != "" {
		in.CustomRoleArn = &p.cfg.CustomRoleARN
	}
	out, err := p.client.GetCredentialsForIdentity(ctx, in)
	if err != nil {
		return vended{}, &awsCallError{op: "GetCredentialsForIdentity", err: err}
	}
	c := out.Credentials
	if c == nil || c.AccessKeyId == nil || c.SecretKey == nil || c.Expiration == nil {
		return vended{}, &awsCallError{op: "GetCredentialsForIdentity", err: errors.New("response without credentials")}
	}
	return vended{
		creds: aws.Credentials{
			AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretKey, SessionToken: aws.ToString(c.SessionToken),
			CanExpire: true, Expires: *c.Expiration,
		},
		identityID: identityID,
	}, nil
}

// loginsKey is the identity pool's provider name for an issuer: the issuer
// without its scheme, e.g. cognito-idp.us-east-1.amazonaws.com/us-east-1_Abc.
func loginsKey(issuer string) string {
	if _, rest, ok := strings.Cut(issuer, "://"); ok {
		return strings.TrimSuffix(rest, "/")
	}
	return issuer
}

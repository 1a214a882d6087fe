package cognitoauth

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sso"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
)

// jwtBearerGrant is the OAuth grant with which Identity Center takes an
// external IdP's JWT.
const jwtBearerGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// identityCenterScopes are requested from CreateTokenWithIAM;
// sso:account:access is what lets the token fetch account credentials.
var identityCenterScopes = []string{"openid", "aws", "sts:identity_context", "sso:account:access"}

// identityCenterMode vends the user's permission-set credentials through
// IAM Identity Center (identity_center).
type identityCenterMode struct {
	cfg    IdentityCenterVending
	scope  string
	oidc   *ssooidc.Client
	portal *sso.Client
}

func newIdentityCenterMode(awsCfg aws.Config, cfg *IdentityCenterVending) *identityCenterMode {
	return &identityCenterMode{
		cfg:    *cfg,
		scope:  "identity_center\x00" + cfg.ApplicationARN + "\x00" + cfg.AccountID + "\x00" + cfg.RoleName,
		oidc:   ssooidc.NewFromConfig(awsCfg),
		portal: sso.NewFromConfig(awsCfg),
	}
}

func (c *identityCenterMode) name() string               { return "identity_center" }
func (c *identityCenterMode) check(*Identity) *authError { return nil }

func (c *identityCenterMode) key(*Identity) credKey { return credKey{scope: c.scope} }

// endpoints are the OIDC service and the portal, both used per exchange.
func (c *identityCenterMode) endpoints(ctx context.Context) ([]string, error) {
	o := c.oidc.Options()
	oidc, err := resolvedURL(o.EndpointResolverV2.ResolveEndpoint(ctx, ssooidc.EndpointParameters{Region: &o.Region,
		Endpoint: o.BaseEndpoint, UseFIPS: isFIPS(o.EndpointOptions.UseFIPSEndpoint), UseDualStack: isDualStack(o.EndpointOptions.UseDualStackEndpoint)}))
	if err != nil {
		return nil, err
	}
	p := c.portal.Options()
	portal, err := resolvedURL(p.EndpointResolverV2.ResolveEndpoint(ctx, sso.EndpointParameters{Region: &p.Region,
		Endpoint: p.BaseEndpoint, UseFIPS: isFIPS(p.EndpointOptions.UseFIPSEndpoint), UseDualStack: isDualStack(p.EndpointOptions.UseDualStackEndpoint)}))
	if err != nil {
		return nil, err
	}
	return append(oidc, portal...), nil
}

func (c *identityCenterMode) exchange(ctx context.Context, _ *Identity, token string, _ *Credentials) (vended, error) {
	tok, err := c.oidc.CreateTokenWithIAM(ctx, &ssooidc.CreateTokenWithIAMInput{
		ClientId:  &c.cfg.ApplicationARN,
		GrantType: aws.String(jwtBearerGrant),
		Assertion: &token,
		Scope:     identityCenterScopes,
	})
	if err != nil {
		return vended{}, &awsCallError{op: "CreateTokenWithIAM", signed: true, err: err}
	}
	out, err := c.portal.GetRoleCredentials(ctx, &sso.GetRoleCredentialsInput{
		AccessToken: tok.AccessToken, AccountId: &c.cfg.AccountID, RoleName: &c.cfg.RoleName,
	})
	if err != nil {
		return vended{}, &awsCallError{op: "GetRoleCredentials", err: err}
	}
	rc := out.RoleCredentials
	if rc == nil || rc.AccessKeyId == nil || rc.SecretAccessKey == nil || rc.Expiration == 0 {
		return vended{}, &awsCallError{op: "GetRoleCredentials", err: errors.New("response without credentials")}
	}
	return vended{creds: aws.Credentials{
		AccessKeyID: *rc.AccessKeyId, SecretAccessKey: *rc.SecretAccessKey, SessionToken: aws.ToString(rc.SessionToken),
		// The portal reports expiry in epoch milliseconds.
		CanExpire: true, Expires: time.UnixMilli(rc.Expiration),
		AccountID: c.cfg.AccountID,
	}}, nil
}

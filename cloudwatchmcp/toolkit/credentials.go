package toolkit

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// CredentialsVar is the request var cognito_auth fills with the caller's
// vended credentials (any aws.CredentialsProvider works).
const CredentialsVar = "cognito_auth.aws_credentials"

// CredentialMode says whose AWS permissions a tool call uses.
type CredentialMode string

const (
	// CredRequest uses only the credentials vended for this request.
	CredRequest CredentialMode = "request"
	// CredDefault uses the server's default credential chain (local dev).
	CredDefault CredentialMode = "default"
	// credRequestOrDefault prefers the request's credentials.
	CredRequestOrDefault CredentialMode = "request_or_default"
)

func (m CredentialMode) Valid() bool {
	switch m {
	case CredRequest, CredDefault, CredRequestOrDefault:
		return true
	}
	return false
}

// NoCredentialsMessage is the message agents see when the edge vended nothing.
const NoCredentialsMessage = "no AWS credentials for this request: configure cognito_auth with a vending mode"

// CallerCredentials resolves the provider for one tool call. cacheKey names
// the credentials identity (the access key ID, or the server profile) so
// clients are cached per identity and never shared across users.
// A call that named an account gets the caller's credentials chained into
// that account's role (accounts.go).
func (e *Env) CallerCredentials(ctx context.Context, profile string) (aws.CredentialsProvider, string, error) {
	if acct := accountFromContext(ctx); acct != nil && e.Accounts != nil {
		return e.Accounts.credentials(ctx, acct, func() (aws.CredentialsProvider, string, error) {
			return e.ownCredentials(ctx, profile)
		})
	}
	return e.ownCredentials(ctx, profile)
}

// ownCredentials resolves the caller's own credentials.
func (e *Env) ownCredentials(ctx context.Context, profile string) (aws.CredentialsProvider, string, error) {
	if profile != "" && e.CredentialMode != CredDefault {
		return nil, "", Errorf("profile_name is only honoured with `credentials default`; this server uses the caller's own credentials")
	}
	if e.CredentialMode != CredDefault {
		if p, ok := caddyhttp.GetVar(ctx, CredentialsVar).(aws.CredentialsProvider); ok && p != nil {
			c, err := p.Retrieve(ctx)
			if err != nil {
				return nil, "", &ToolError{kind: KindAccessDenied, msg: fmt.Sprintf("the AWS credentials for this request are unusable: %v", err)}
			}
			return p, "key:" + c.AccessKeyID, nil
		}
		if e.CredentialMode == CredRequest {
			return nil, "", &ToolError{kind: KindAccessDenied, msg: NoCredentialsMessage}
		}
	}
	p, err := e.Clients.defaultChain(ctx, profile)
	if err != nil {
		return nil, "", &ToolError{kind: KindInternal, msg: fmt.Sprintf("cannot load the server's AWS credentials (profile %q): %v", profile, err)}
	}
	return p, "profile:" + profile, nil
}

// loadDefaultConfig loads the SDK's default configuration (region, endpoint
// overrides such as AWS_ENDPOINT_URL_CLOUDWATCH_LOGS, credential chain).
func loadDefaultConfig(ctx context.Context, profile string) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("%w", err)
	}
	return cfg, nil
}

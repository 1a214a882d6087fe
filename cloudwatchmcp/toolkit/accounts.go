package toolkit

import (
	"cmp"
	"container/list"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/caddyserver/caddy/v2"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"golang.org/x/sync/singleflight"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/awsname"
)

// Account is an AWS account the tools can act in. A tool call naming it
// assumes RoleARN with the caller's own credentials (role chaining), so
// the role's trust policy decides, per user, who may enter: the server
// never widens anyone's access.
type Account struct {
	// Name callers pass as the `account` argument of a tool.
	Name string `json:"name,omitempty"`

	// ARN of the IAM role to assume in that account. Its trust policy must
	// allow sts:AssumeRole (and sts:SetSourceIdentity) for the roles your
	// users' credentials are vended for.
	RoleARN string `json:"role_arn,omitempty"`

	// Region for calls in this account that name none. Default: the
	// handler's region.
	Region string `json:"region,omitempty"`
}

const (
	// AccountArg is the optional input every AWS-calling tool gains.
	AccountArg = "account"
	// chainedDuration is what AWS allows for a chained role session.
	chainedDuration = time.Hour
	// chainRefreshBefore renews chained credentials this long before they
	// expire, like vending's default refresh_before.
	chainRefreshBefore = 5 * time.Minute
	// chainTimeout bounds one AssumeRole exchange.
	chainTimeout = 30 * time.Second
	// maxChainedCredentials bounds the cache: identities × accounts.
	maxChainedCredentials = 10000
)

var (
	accountNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	roleARNPattern     = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$`)
)

// validate checks an account after placeholders were replaced.
func (a Account) Validate() error {
	if !accountNamePattern.MatchString(a.Name) {
		return fmt.Errorf("account name %q must be 1-64 letters, digits, '_', '.' or '-'", a.Name)
	}
	if !roleARNPattern.MatchString(a.RoleARN) {
		return fmt.Errorf("account %s: %q is not an IAM role ARN (arn:aws:iam::123456789012:role/name)", a.Name, a.RoleARN)
	}
	if a.Region != "" && !IsKnownRegion(a.Region) {
		return fmt.Errorf("account %s: %s", a.Name, UnknownRegionMessage(a.Region))
	}
	return nil
}

// validateAccounts checks names are unique and, unless they hold
// placeholders, well formed.
func ValidateAccounts(accts []Account) error {
	seen := map[string]bool{}
	for _, a := range accts {
		if seen[a.Name] {
			return fmt.Errorf("account %q is configured twice", a.Name)
		}
		seen[a.Name] = true
		if strings.Contains(a.RoleARN+a.Region, "{") {
			a.RoleARN, a.Region = "arn:aws:iam::000000000000:role/placeholder", ""
		}
		if err := a.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// accountCtxKey carries the account a tool call acts in.
type accountCtxKey struct{}

// accountFromContext returns the account the current tool call named, or
// nil for the caller's own account.
func accountFromContext(ctx context.Context) *Account {
	a, _ := ctx.Value(accountCtxKey{}).(*Account)
	return a
}

// Accounts assumes account roles with callers' credentials and
// caches the results per (issuer, sub, account).
type Accounts struct {
	accounts []Account // config order, for list_accounts
	byName   map[string]*Account
	names    string // for error messages

	clients       *Clients // base AWS config (endpoints, HTTP client)
	defaultRegion string
	base          context.Context // the module's lifetime; exchanges outlive one request
	now           func() time.Time

	mu    sync.Mutex
	max   int
	ll    *list.List // of *chainEntry, most recently used first
	items map[string]*list.Element

	flights singleflight.Group
}

type chainEntry struct {
	key   string
	creds aws.Credentials
}

// NewAccounts returns nil when no accounts are configured.
func NewAccounts(accts []Account, clients *Clients, defaultRegion string, base context.Context, now func() time.Time) *Accounts {
	if len(accts) == 0 {
		return nil
	}
	c := &Accounts{
		accounts: accts, byName: map[string]*Account{}, clients: clients, defaultRegion: defaultRegion,
		base: base, now: now, max: maxChainedCredentials, ll: list.New(), items: map[string]*list.Element{},
	}
	names := make([]string, 0, len(accts))
	for i := range c.accounts {
		c.byName[c.accounts[i].Name] = &c.accounts[i]
		names = append(names, c.accounts[i].Name)
	}
	c.names = strings.Join(names, ", ")
	return c
}

// callerIdentity reads the identity cognito_auth authenticated.
func callerIdentity(ctx context.Context) (issuer, sub string) {
	repl, ok := ctx.Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if !ok {
		return "", ""
	}
	sub, _ = repl.GetString("http.auth.user.id")
	issuer, _ = repl.GetString("http.auth.user.issuer")
	return issuer, sub
}

// credentials returns the caller's credentials inside acct: own resolves
// the caller's own (vended) credentials, which sign the AssumeRole call.
func (c *Accounts) credentials(ctx context.Context, acct *Account,
	own func() (aws.CredentialsProvider, string, error)) (aws.CredentialsProvider, string, error) {
	p, ownID, err := own()
	if err != nil {
		return nil, "", err
	}
	issuer, sub := callerIdentity(ctx)
	key := issuer + "\x00" + sub + "\x00" + acct.Name
	if sub == "" {
		// Unauthenticated callers (credentials default) are told apart by
		// the credentials they would chain from.
		key = "\x00anonymous\x00" + ownID + "\x00" + acct.Name
	}
	cur, fresh := c.get(key)
	if fresh {
		return chainedProvider(*cur), "chain:" + cur.AccessKeyID, nil
	}
	baseCreds, err := p.Retrieve(ctx)
	if err != nil {
		return nil, "", &ToolError{kind: KindAccessDenied, msg: fmt.Sprintf("the AWS credentials for this request are unusable: %v", err)}
	}
	creds, err := c.fetch(ctx, key, cur, func(ctx context.Context) (aws.Credentials, error) {
		return c.assumeRole(ctx, acct, baseCreds, issuer, sub)
	})
	if err != nil {
		return nil, "", chainError(acct.Name, err)
	}
	return chainedProvider(creds), "chain:" + creds.AccessKeyID, nil
}

// chainedProvider hands out fixed chained credentials; the secrets live in
// a closure, so dumping the provider prints no secret.
func chainedProvider(c aws.Credentials) aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return c, nil })
}

// get returns the cached credentials of key: ok=false when missing or
// expired, fresh=false too when within chainRefreshBefore of expiry (then
// they are returned, still usable, while a renewal runs).
func (c *Accounts) get(key string) (creds *aws.Credentials, fresh bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*chainEntry)
	now := c.now()
	if !now.Before(e.creds.Expires) {
		c.ll.Remove(el)
		delete(c.items, key)
		return nil, false
	}
	c.ll.MoveToFront(el)
	cp := e.creds
	return &cp, now.Before(e.creds.Expires.Add(-chainRefreshBefore))
}

func (c *Accounts) put(key string, creds aws.Credentials) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		el.Value.(*chainEntry).creds = creds
		c.ll.MoveToFront(el)
		return
	}
	c.items[key] = c.ll.PushFront(&chainEntry{key: key, creds: creds})
	for c.ll.Len() > c.max {
		last := c.ll.Back()
		c.ll.Remove(last)
		delete(c.items, last.Value.(*chainEntry).key)
	}
}

func (c *Accounts) remove(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.ll.Remove(el)
		delete(c.items, key)
	}
}

func (c *Accounts) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}

// fetch runs one exchange per key at a time. cur holds credentials due for
// renewal (or nil): while they are valid they are returned at once and
// the renewal runs in the background. The exchange runs under the module's
// context, not the request's, so one impatient client cannot fail the
// exchange other calls of the same user wait for. A refusal drops the
// cached credentials: the user's access was revoked.
func (c *Accounts) fetch(ctx context.Context, key string, cur *aws.Credentials,
	exchange func(context.Context) (aws.Credentials, error)) (aws.Credentials, error) {
	ch := c.flights.DoChan(key, func() (any, error) {
		xctx, cancel := context.WithTimeout(c.base, chainTimeout)
		defer cancel()
		creds, err := exchange(xctx)
		if err != nil {
			if isChainRefusal(err) {
				c.remove(key)
			}
			return nil, err
		}
		if !c.now().Before(creds.Expires) {
			return nil, errors.New("AWS returned credentials that have already expired")
		}
		c.put(key, creds)
		return creds, nil
	})
	if cur != nil && c.now().Before(cur.Expires) {
		return *cur, nil // the channel is buffered; nobody needs to read it
	}
	select {
	case res := <-ch:
		if res.Err != nil {
			return aws.Credentials{}, res.Err
		}
		return res.Val.(aws.Credentials), nil
	case <-ctx.Done():
		return aws.Credentials{}, ctx.Err()
	}
}

// assumeRole chains into the account's role, signed with the caller's own
// credentials. The session is named after the caller and carries that name
// as SourceIdentity, so CloudTrail in the target account shows who acted.
func (c *Accounts) assumeRole(ctx context.Context, acct *Account, own aws.Credentials, issuer, sub string) (aws.Credentials, error) {
	region := cmp.Or(acct.Region, c.defaultRegion)
	client := sts.NewFromConfig(c.clients.Config(region, chainedProvider(own)))
	name := chainSessionName(issuer, sub)
	in := &sts.AssumeRoleInput{
		RoleArn:         aws.String(acct.RoleARN),
		RoleSessionName: aws.String(name),
		DurationSeconds: aws.Int32(int32(chainedDuration / time.Second)),
	}
	if sub != "" {
		in.SourceIdentity = aws.String(name)
	}
	out, err := client.AssumeRole(ctx, in)
	if err != nil {
		return aws.Credentials{}, err
	}
	cr := out.Credentials
	if cr == nil || cr.AccessKeyId == nil || cr.SecretAccessKey == nil || cr.Expiration == nil {
		return aws.Credentials{}, errors.New("AWS STS answered without credentials")
	}
	return aws.Credentials{
		AccessKeyID: *cr.AccessKeyId, SecretAccessKey: *cr.SecretAccessKey, SessionToken: aws.ToString(cr.SessionToken),
		Source: "cloudwatch_mcp/account/" + acct.Name, CanExpire: true, Expires: *cr.Expiration,
		AccountID: accountOfRoleARN(acct.RoleARN), // per-account quotas (AccountID) need no lookup
	}, nil
}

// chainSessionName is the caller's name in AWS, the same one cognito_auth
// gives the sessions it vends (internal/awsname: the sub and a hash of
// issuer and sub). It must be: assume_role sets it as SourceIdentity, which
// AWS carries into chained sessions and refuses to change. Callers without
// an identity (credentials default) get a fixed name.
func chainSessionName(issuer, sub string) string {
	if sub == "" {
		return "caddy-cloudwatch-mcp"
	}
	return awsname.Session(issuer, sub)
}

func isChainRefusal(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "AccessDenied", "AccessDeniedException":
			return true
		}
	}
	return false
}

// chainError words a failed AssumeRole for the agent. AWS's own message
// names role ARNs and principals, and SDK errors carry operation names
// and status codes; none of it is shown.
func chainError(account string, err error) error {
	var te *ToolError
	if errors.As(err, &te) {
		return err
	}
	// The words are ours; the kind and code are what the failure was.
	classified := func(format string, args ...any) error {
		f := ClassifyError(err)
		return &ToolError{msg: fmt.Sprintf(format, args...), kind: f.Kind, awsCode: f.AWSCode}
	}
	if errors.Is(err, context.Canceled) {
		return classified("the request was cancelled while entering account %q", account)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return classified("timed out entering account %q; retry later", account)
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "AccessDenied", "AccessDeniedException":
			// The prefix is what metrics and the audit trail count as denied.
			return classified("permission denied: you are not allowed to enter account %q: AWS refused to let your identity assume its role. "+
				"Ask an administrator to allow you in that role's trust policy, or call list_accounts and use another account.", account)
		case "ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId":
			return classified("cannot enter account %q: your AWS session is no longer valid; retry the request to get fresh credentials", account)
		case "RegionDisabledException":
			return classified("cannot enter account %q: AWS STS is not activated in the account's region", account)
		case "Throttling", "ThrottlingException":
			return classified("cannot enter account %q right now: AWS is throttling role requests; retry shortly", account)
		default:
			return classified("cannot enter account %q: AWS refused to assume its role (%s)", account, ae.ErrorCode())
		}
	}
	return classified("cannot enter account %q: AWS STS could not be reached; retry later", account)
}

// accountMiddleware reads the `account` argument of AWS-calling tools:
// it checks the name, puts the account in the context (CallerCredentials
// chains into it) and fills in the account's region when the call names
// none. awsTools are the tools that take the argument.
func accountMiddleware(c *Accounts, awsTools map[string]bool) server.ToolHandlerMiddleware {
	return func(next server.ToolHandlerFunc) server.ToolHandlerFunc {
		return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			if !awsTools[req.Params.Name] {
				return next(ctx, req)
			}
			args := req.GetArguments()
			v, given := args[AccountArg]
			if !given {
				return next(ctx, req)
			}
			rest := make(map[string]any, len(args))
			for k, val := range args {
				if k != AccountArg {
					rest[k] = val
				}
			}
			req.Params.Arguments = rest
			if v == nil || v == "" {
				return next(ctx, req)
			}
			name, ok := v.(string)
			if !ok {
				return ErrorResult(ctx, Errorf("account must be a string naming a configured account")), nil
			}
			if c == nil {
				return ErrorResult(ctx, Errorf("unknown account %q: this server has no accounts configured; omit account to use your own", name)), nil
			}
			acct := c.byName[strings.TrimSpace(name)]
			if acct == nil {
				return ErrorResult(ctx, Errorf("unknown account %q; configured accounts: %s", name, c.names)), nil
			}
			if r, _ := rest["region"].(string); strings.TrimSpace(r) == "" && acct.Region != "" {
				rest["region"] = acct.Region
			}
			return next(context.WithValue(ctx, accountCtxKey{}, acct), req)
		}
	}
}

package toolkit

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"golang.org/x/sync/singleflight"
)

const (
	// maxAccountIDs bounds the cache of access key → account; vended keys
	// rotate (an hour or so), so old ones age out.
	maxAccountIDs = 10000
	// accountIDFailureTTL is how long a failed lookup is not retried.
	accountIDFailureTTL = 5 * time.Minute
	// accountIDTimeout bounds one GetCallerIdentity.
	accountIDTimeout = 10 * time.Second
)

// accountIDs caches the account of each access key ID.
type accountIDs struct {
	flights singleflight.Group
	mu      sync.Mutex
	byKey   map[string]accountIDEntry
}

type accountIDEntry struct {
	account string
	failed  time.Time // set when the lookup failed
}

type accountIDsKey struct{}

// AccountID returns the 12-digit AWS account that creds act in, for what is
// shared per account: CloudWatch Logs request quotas are per account and
// region, shared by every identity in it. It is what the credentials
// already say when they say it (chained account credentials, SDK
// providers that carry AccountID); otherwise one STS GetCallerIdentity
// per access key, signed with those credentials (it needs no permission),
// cached. It fails only when that lookup fails; callers then keep the
// identity's own scope.
func (e *Env) AccountID(ctx context.Context, creds aws.CredentialsProvider, region string) (string, error) {
	c, err := creds.Retrieve(ctx)
	if err != nil {
		return "", err
	}
	if c.AccountID != "" {
		return c.AccountID, nil
	}
	ids := State(e, accountIDsKey{}, func(*Env) *accountIDs { return &accountIDs{byKey: map[string]accountIDEntry{}} })
	now := e.Now()
	ids.mu.Lock()
	ent, ok := ids.byKey[c.AccessKeyID]
	ids.mu.Unlock()
	if ok && ent.account != "" {
		return ent.account, nil
	}
	if ok && now.Sub(ent.failed) < accountIDFailureTTL {
		return "", Errorf("the account of these credentials is unknown (STS GetCallerIdentity failed recently)")
	}
	ch := ids.flights.DoChan(c.AccessKeyID, func() (any, error) {
		// Shared by concurrent callers of one identity: one caller going
		// away must not fail the others' lookup.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), accountIDTimeout)
		defer cancel()
		out, err := sts.NewFromConfig(e.Clients.Config(region, creds)).GetCallerIdentity(lctx, &sts.GetCallerIdentityInput{})
		acct := ""
		if err == nil {
			acct = aws.ToString(out.Account)
		}
		ids.mu.Lock()
		defer ids.mu.Unlock()
		if len(ids.byKey) >= maxAccountIDs {
			clear(ids.byKey) // rare: keys rotate; the next lookups refill it
		}
		if acct == "" {
			ids.byKey[c.AccessKeyID] = accountIDEntry{failed: e.Now()}
			if err == nil {
				err = Errorf("STS GetCallerIdentity answered without an account")
			}
			return "", err
		}
		ids.byKey[c.AccessKeyID] = accountIDEntry{account: acct}
		return acct, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// accountOfRoleARN is the account field of an IAM role ARN.
func accountOfRoleARN(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}

package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
)

const prodRole = "arn:aws:iam::111111111111:role/cloudwatch-readonly"

// TestAccountsThroughCaddy enters another account through the whole edge:
// cognito_auth vends the caller's own credentials, cloudwatch_mcp chains
// into the account's role with them, and IAM (the fake's trust policy)
// decides per user. Alice may enter prod; Bob may not, and is told so in
// words.
func TestAccountsThroughCaddy(t *testing.T) {
	f := privateFake(t)
	nonce := time.Now().UnixNano()
	aliceSub, bobSub := fmt.Sprintf("acct-alice-%d", nonce), fmt.Sprintf("acct-bob-%d", nonce)
	f.AddRole(fakeaws.Role{ARN: prodRole, AssumeRoleBy: []string{aliceSub}})
	fakeaws.LogsOf(f).AddLogGroup(fakeaws.LogGroup{Name: "/prod/app", Region: "eu-west-1"})
	startHostile(t, "", "account prod "+prodRole+" eu-west-1")

	call := func(tok, session, name, args string) mcpReply {
		t.Helper()
		r, err := mcpDo(hostileClient, http.MethodPost, tok, session,
			fmt.Sprintf(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":%q,"arguments":%s}}`, name, args))
		if err != nil || r.status != http.StatusOK {
			t.Fatalf("%s: %v %d %s", name, err, r.status, r.body)
		}
		return r
	}
	text := func(r mcpReply) string {
		var b strings.Builder
		for _, c := range r.msg.Result.Content {
			b.WriteString(c.Text)
		}
		return b.String()
	}

	alice := token(aliceSub)
	as := initSession(t, alice)
	if r := call(alice, as, "list_accounts", `{}`); r.msg.Result.IsError || !strings.Contains(text(r), "prod") {
		t.Fatalf("list_accounts: %.300s", text(r))
	}
	r := call(alice, as, "describe_log_groups", `{"account":"prod"}`)
	if r.msg.Result.IsError || !strings.Contains(text(r), "/prod/app") {
		t.Fatalf("alice in prod: %.300s", text(r))
	}
	ar := f.Calls("AssumeRole")
	if len(ar) != 1 || ar[0].Owner != aliceSub || !ar[0].Signed {
		t.Fatalf("the chain must be signed with alice's vended key: %+v", ar)
	}
	if vended, ok := f.Session(ar[0].AccessKeyID); !ok || vended.Op != "AssumeRoleWithWebIdentity" || vended.Owner != aliceSub {
		t.Fatalf("AssumeRole signed by %s (%+v): want alice's web-identity session", ar[0].AccessKeyID, vended)
	}
	dl := f.Calls("DescribeLogGroups")
	if len(dl) != 1 {
		t.Fatalf("%d DescribeLogGroups calls", len(dl))
	}
	if s, ok := f.Session(dl[0].AccessKeyID); !ok || s.RoleARN != prodRole || s.Op != "AssumeRole" || s.Owner != aliceSub || dl[0].Region != "eu-west-1" {
		t.Fatalf("DescribeLogGroups signed by %s (%+v) in %s: want alice's prod session in eu-west-1", dl[0].AccessKeyID, s, dl[0].Region)
	}

	bob := token(bobSub)
	bs := initSession(t, bob)
	r = call(bob, bs, "describe_log_groups", `{"account":"prod"}`)
	if !r.msg.Result.IsError || !strings.Contains(text(r), `account "prod"`) || strings.Contains(text(r), "operation error") {
		t.Fatalf("bob in prod: isError=%v %.300s", r.msg.Result.IsError, text(r))
	}
	if ar := f.Calls("AssumeRole"); len(ar) != 2 || ar[1].Owner != bobSub {
		t.Fatalf("bob's attempt must be signed with his own key: %+v", ar)
	}
	if n := f.CallCount("DescribeLogGroups"); n != 1 {
		t.Fatalf("a refused chain was followed by a CloudWatch call (%d calls)", n)
	}
}

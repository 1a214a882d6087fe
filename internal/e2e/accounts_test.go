package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/awsname"
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
	if s, ok := f.Session(dl[0].AccessKeyID); !ok || s.RoleARN != prodRole || s.Op != "AssumeRole" || s.Owner != awsname.Session(issuer.Issuer(), aliceSub) || dl[0].Region != "eu-west-1" {
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

// TestAccountsAfterAssumeRole chains into an account from credentials that
// cognito_auth vended with assume_role, which sets the session's
// SourceIdentity. AWS persists it into chained sessions and refuses to
// change it, so cloudwatch_mcp must repeat exactly the name cognito_auth
// chose (internal/awsname: sub and a hash of issuer and sub).
func TestAccountsAfterAssumeRole(t *testing.T) {
	f := privateFake(t)
	server := aws.Credentials{AccessKeyID: "AKIAE2ESERVER0000001", SecretAccessKey: "e2e-server-secret"}
	f.AddCredentials(server, "server")
	t.Setenv("AWS_ACCESS_KEY_ID", server.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", server.SecretAccessKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	f.AddRole(fakeaws.Role{ARN: roleARN, AssumeRoleBy: []string{"server"}})
	aliceSub := fmt.Sprintf("acct-alice-%d", time.Now().UnixNano())
	alice := awsname.Session(issuer.Issuer(), aliceSub)
	f.AddRole(fakeaws.Role{ARN: prodRole, AssumeRoleBy: []string{alice}})
	fakeaws.LogsOf(f).AddLogGroup(fakeaws.LogGroup{Name: "/prod/app", Region: "eu-west-1"})
	scan.Begin(t)
	loadEdge(t, globalOptions+`
http://localhost:{$E2E_HTTP_PORT} {
	cognito_auth {
		issuer {$E2E_ISSUER}
		audiences {$E2E_RESOURCE}
		assume_role {$E2E_ROLE}
	}
	cloudwatch_mcp {
		account prod `+prodRole+` eu-west-1
	}
}
`)

	tok := token(aliceSub)
	r, err := mcpDo(hostileClient, http.MethodPost, tok, initSession(t, tok),
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"describe_log_groups","arguments":{"account":"prod"}}}`)
	if err != nil || r.status != http.StatusOK || r.msg.Result.IsError || !strings.Contains(r.body, "/prod/app") {
		t.Fatalf("alice in prod: %v %d %.400s", err, r.status, r.body)
	}
	ar := f.Calls("AssumeRole")
	if len(ar) != 2 || ar[0].Owner != "server" || ar[1].Owner != alice {
		t.Fatalf("want the server's AssumeRole for alice, then alice's chain: %+v", ar)
	}
	dl := f.Calls("DescribeLogGroups")
	if s, ok := f.Session(dl[0].AccessKeyID); !ok || s.RoleARN != prodRole || s.SourceIdentity != alice || s.RoleSessionName != alice {
		t.Fatalf("chained session %+v, want SourceIdentity and session name %q", s, alice)
	}
}

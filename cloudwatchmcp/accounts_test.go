package cloudwatchmcp

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/awsname"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

const (
	prodRole = "arn:aws:iam::111111111111:role/cloudwatch-readonly"
	devRole  = "arn:aws:iam::222222222222:role/cloudwatch-readonly"
)

// Through the provisioned handler and the Streamable HTTP transport:
// Caddyfile-equivalent config, tools/list, and both users.
func TestAccountsThroughHandler(t *testing.T) {
	ts := newTestServer(t, &Handler{
		Tools:          []string{"logs"},
		MaxResultBytes: 2048,
		Accounts:       []Account{{Name: "prod", RoleARN: prodRole, Region: "eu-west-1"}},
	})
	ts.fake.AddRole(fakeaws.Role{ARN: prodRole, AssumeRoleBy: []string{"alice"}})
	for i := range 50 {
		fakeaws.LogsOf(ts.fake).AddLogGroup(fakeaws.LogGroup{Name: fmt.Sprintf("/prod/service-%02d", i), Region: "eu-west-1"})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	alice := ts.newClient(t, "alice")
	list, err := alice.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range list.Tools {
		names = append(names, tl.Name)
	}
	if !strings.Contains(strings.Join(names, ","), toolkit.ListAccountsTool) {
		t.Fatalf("tools/list lacks list_accounts: %v", names)
	}

	req := mcp.CallToolRequest{}
	req.Params.Name = "describe_log_groups"
	req.Params.Arguments = map[string]any{"account": "prod"}
	res, err := alice.CallTool(ctx, req)
	if err != nil || res.IsError {
		t.Fatalf("alice: %v %+v", err, res)
	}
	b, _ := json.Marshal(res.StructuredContent)
	if len(b) > 2048 || !strings.Contains(string(b), `"truncated"`) || !strings.Contains(string(b), "/prod/service-00") {
		t.Fatalf("capped result (%d bytes): %.300s", len(b), b)
	}
	c := ts.fake.Calls("DescribeLogGroups")[0]
	if s, _ := ts.fake.Session(c.AccessKeyID); s.RoleARN != prodRole || c.Owner != awsname.Session(mcptest.Issuer, "alice") {
		t.Fatalf("DescribeLogGroups signed by %+v", c)
	}

	res, err = ts.newClient(t, "bob").CallTool(ctx, req)
	if err != nil || !res.IsError {
		t.Fatalf("bob must be refused: %v %+v", err, res)
	}
	msg := res.Content[0].(mcp.TextContent).Text
	if !strings.Contains(msg, `account "prod"`) || strings.Contains(msg, "arn:") || strings.Contains(msg, "operation error") {
		t.Fatalf("bob's error: %s", msg)
	}
}

func TestAccountsAndMaxResultBytesCaddyfile(t *testing.T) {
	d := caddyfile.NewTestDispenser(`cloudwatch_mcp {
		max_result_bytes 64KiB
		account prod arn:aws:iam::111111111111:role/cloudwatch-readonly eu-west-1
		account dev {env.DEV_ROLE_ARN}
	}`)
	var h Handler
	if err := h.UnmarshalCaddyfile(d); err != nil {
		t.Fatal(err)
	}
	want := []Account{{Name: "prod", RoleARN: prodRole, Region: "eu-west-1"}, {Name: "dev", RoleARN: "{env.DEV_ROLE_ARN}"}}
	if h.MaxResultBytes != 64<<10 || fmt.Sprint(h.Accounts) != fmt.Sprint(want) {
		t.Fatalf("got %d %+v", h.MaxResultBytes, h.Accounts)
	}

	for _, tc := range []struct{ in, want string }{
		{"account prod", "wrong argument count"},
		{"account prod " + prodRole + " eu-west-1 extra", "wrong argument count"},
		{"account 'bad name' " + prodRole, "account name"},
		{"account prod arn:aws:s3:::bucket", "is not an IAM role ARN"},
		{"account prod " + prodRole + " mars", "is not an AWS region"},
		{"account prod " + prodRole + "\naccount prod " + devRole, "configured twice"},
		{"max_result_bytes 10", "at least 1024"},
		{"max_result_bytes lots", "not a size in bytes"},
		{"max_result_bytes", "wrong argument count"},
	} {
		var h Handler
		err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("cloudwatch_mcp {\n" + tc.in + "\n}"))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "Testfile:") {
			t.Errorf("%q: error %v, want %q with file:line", tc.in, err, tc.want)
		}
	}

	// JSON config is validated as well.
	if err := (&Handler{MaxResultBytes: 5}).Validate(); err == nil {
		t.Error("max_result_bytes 5 accepted")
	}
	if err := (&Handler{Accounts: []Account{{Name: "x", RoleARN: "nope"}}}).Validate(); err == nil {
		t.Error("a bad role ARN accepted")
	}
}

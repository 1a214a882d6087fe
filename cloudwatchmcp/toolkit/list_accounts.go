package toolkit

import (
	"cmp"
	"context"
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// ListAccountsTool names the tool that lists the configured accounts. It
// belongs to no tool group: it is served whenever accounts are configured,
// as part of the accounts feature (the `account` argument it documents).
const ListAccountsTool = "list_accounts"

// accountInfo is one list_accounts entry. Role ARNs are not shown: they
// name account IDs, and agents need only the name.
type accountInfo struct {
	Name   string `json:"name"`
	Region string `json:"region"`
}

func (e *Env) listAccountsTool() server.ServerTool {
	return server.ServerTool{
		Tool: mcp.Tool{
			Name: ListAccountsTool,
			Description: `Lists the AWS accounts this server can run the CloudWatch tools in.

Pass a name as the account argument of any other tool to run it in that account: the server assumes the account's role with your own AWS credentials, so you can use only the accounts your identity is allowed into.

Returns accounts: each with its name and default region (used when a tool call names no region).`,
			RawInputSchema:  json.RawMessage(`{"type":"object","properties":{}}`),
			RawOutputSchema: json.RawMessage(`{"type":"object","title":"AccountList","properties":{"accounts":{"type":"array","items":{"type":"object","properties":{"name":{"type":"string"},"region":{"type":"string"}},"required":["name","region"]}}},"required":["accounts"]}`),
			Annotations: mcp.ToolAnnotation{
				Title: "List accounts", ReadOnlyHint: aws.Bool(true), DestructiveHint: aws.Bool(false),
				IdempotentHint: aws.Bool(true), OpenWorldHint: aws.Bool(false),
			},
		},
		Handler: func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			out := struct {
				Accounts []accountInfo `json:"accounts"`
			}{Accounts: make([]accountInfo, 0, len(e.Accounts.accounts))}
			for _, a := range e.Accounts.accounts {
				out.Accounts = append(out.Accounts, accountInfo{Name: a.Name, Region: cmp.Or(a.Region, e.DefaultRegion)})
			}
			return JSONResult(out), nil
		},
	}
}

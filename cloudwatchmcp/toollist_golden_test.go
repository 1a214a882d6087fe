package cloudwatchmcp

import (
	"bytes"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

var updateToolList = flag.Bool("update-toollist", false, "rewrite testdata/toollist/*.json from the tools this build serves")

// TestToolsListGolden pins the tools/list answer byte for byte: every
// tool's name, description, input and output schema and annotations, with
// and without accounts (which add the account input and list_accounts).
// A new or changed tool shows up here as a diff; review it and rerun with
// -update-toollist.
func TestToolsListGolden(t *testing.T) {
	for _, c := range []struct {
		name string
		h    *Handler
	}{
		{"default", &Handler{Tools: []string{"logs", "metrics", "alarms", "promql"}}},
		{"accounts", &Handler{Tools: []string{"logs", "metrics", "alarms", "promql"}, Accounts: []toolkit.Account{
			{Name: "prod", RoleARN: "arn:aws:iam::111111111111:role/cloudwatch-mcp", Region: "eu-west-1"},
			{Name: "staging", RoleARN: "arn:aws:iam::222222222222:role/cloudwatch-mcp"},
		}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts := newTestServer(t, c.h)
			session := ts.rawInit(t, "alice")
			resp := ts.rawRequest(t, http.MethodPost, "alice", session, toolsListBody)
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("tools/list: %s %v", resp.Status, err)
			}
			file := filepath.Join("testdata", "toollist", c.name+".json")
			if *updateToolList {
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test ./cloudwatchmcp -run TestToolsListGolden -update-toollist)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("tools/list differs from %s (review, then rerun with -update-toollist):\n got  %.2000s\n want %.2000s", file, got, want)
			}
		})
	}
}

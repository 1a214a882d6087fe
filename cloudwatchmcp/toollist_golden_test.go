package cloudwatchmcp

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
				t.Errorf("tools/list differs from %s (%s); review, then rerun with -update-toollist", file, toolListDiff(got, want))
			}
		})
	}
}

// toolListDiff names the tools added, removed or changed between two
// tools/list answers, or where the bytes first differ.
func toolListDiff(got, want []byte) string {
	tools := func(b []byte) map[string]string {
		var v struct {
			Result struct {
				Tools []json.RawMessage `json:"tools"`
			} `json:"result"`
		}
		if json.Unmarshal(b, &v) != nil {
			return nil
		}
		m := map[string]string{}
		for _, raw := range v.Result.Tools {
			var named struct{ Name string }
			_ = json.Unmarshal(raw, &named)
			m[named.Name] = string(raw)
		}
		return m
	}
	g, w := tools(got), tools(want)
	var diffs []string
	for name, def := range g {
		if old, ok := w[name]; !ok {
			diffs = append(diffs, "added "+name)
		} else if old != def {
			diffs = append(diffs, "changed "+name)
		}
	}
	for name := range w {
		if _, ok := g[name]; !ok {
			diffs = append(diffs, "removed "+name)
		}
	}
	if len(diffs) > 0 {
		slices.Sort(diffs)
		return strings.Join(diffs, ", ")
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	return fmt.Sprintf("bytes differ from offset %d: got %.80q, want %.80q", i, got[i:], want[i:])
}

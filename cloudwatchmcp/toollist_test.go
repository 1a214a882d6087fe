package cloudwatchmcp

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

// awslabsTools are the 19 tools of the awslabs CloudWatch MCP server 0.1.8.
// Agents and prompts written for it name these; we serve all of them, and
// any other tool only when PARITY.md lists it as beyond awslabs.
var awslabsTools = []string{
	"analyze_log_group", "analyze_metric", "cancel_logs_insight_query", "describe_log_groups",
	"execute_cwl_insights_batch", "execute_log_insights_query", "execute_promql_query",
	"execute_promql_range_query", "get_active_alarms", "get_alarm_history",
	"get_logs_insight_query_results", "get_metric_data", "get_metric_metadata",
	"get_promql_label_values", "get_promql_labels", "get_promql_series",
	"get_recommended_metric_alarms", "recommend_indexes_account", "recommend_indexes_loggroup",
}

func TestToolListIsAwslabsParity(t *testing.T) {
	te := mcptest.NewEnv(t)
	tools, err := te.Tools([]string{"logs", "metrics", "alarms", "promql"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, st := range tools {
		names = append(names, st.Tool.Name)
		if st.Tool.Description == "" {
			t.Errorf("%s has no description", st.Tool.Name)
		}
	}
	slices.Sort(names)
	// Every registered tool of the product groups is one of awslabs', or a
	// documented extra: new tools are picked up from the registry, and
	// PARITY.md must say why they exist. list_accounts is a documented
	// extra outside every group: served only when `account` is configured
	// (see TestListAccountsAndSchemas).
	extras := beyondAwslabs(t)
	var ours []string
	for _, n := range names {
		if !slices.Contains(extras, n) {
			ours = append(ours, n)
		}
	}
	if !slices.Equal(ours, awslabsTools) {
		t.Fatalf("tool list differs from awslabs 0.1.8 (a new tool beyond awslabs goes into PARITY.md, %q):\n got  %v\n want %v",
			beyondAwslabsHeading, ours, awslabsTools)
	}
	if !slices.Contains(extras, toolkit.ListAccountsTool) {
		t.Errorf("PARITY.md does not list %s among the tools beyond awslabs", toolkit.ListAccountsTool)
	}
	// No product group may smuggle in extra tools; only the test-only
	// groups (registered by testserver_test.go and
	// transport_generations_test.go) are allowed.
	for _, g := range toolkit.Groups() {
		if g == testToolGroup || g == logLevelToolGroup {
			continue
		}
		if !slices.Contains([]string{"logs", "metrics", "alarms", "promql"}, g) {
			t.Errorf("undocumented tool group %q", g)
		}
	}
}

// beyondAwslabsHeading starts the PARITY.md section that lists, one
// "- `name`: why" item each, the tools awslabs does not have.
const beyondAwslabsHeading = "## Tools beyond awslabs 0.1.8"

// beyondAwslabs reads the tool names PARITY.md lists as beyond awslabs.
func beyondAwslabs(t *testing.T) []string {
	t.Helper()
	doc, err := os.ReadFile("PARITY.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n"+beyondAwslabsHeading+"\n")
	if !ok {
		t.Fatalf("PARITY.md has no %q section", beyondAwslabsHeading)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var names []string
	for _, m := range regexp.MustCompile("(?m)^- `([a-z0-9_]+)`").FindAllStringSubmatch(section, -1) {
		names = append(names, m[1])
	}
	return names
}

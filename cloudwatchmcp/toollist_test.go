package cloudwatchmcp

import (
	"slices"
	"testing"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

// awslabsTools are the 19 tools of the awslabs CloudWatch MCP server 0.1.8.
// Agents and prompts written for it name these; we serve exactly these.
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
	// list_accounts is a documented extra outside every group: served only
	// when `account` is configured (see TestListAccountsAndSchemas).
	if !slices.Equal(names, awslabsTools) {
		t.Fatalf("tool list differs from awslabs 0.1.8:\n got  %v\n want %v", names, awslabsTools)
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

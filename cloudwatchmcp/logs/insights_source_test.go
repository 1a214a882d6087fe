package logs

import (
	"testing"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

// TestInsightsLogGroupDataSource: log_group_data_source selects log groups
// with a SOURCE command instead of a list (awslabs/mcp#2727).
func TestInsightsLogGroupDataSource(t *testing.T) {
	te := mcptest.NewEnv(t)
	withInsightsClock(te)
	fakeaws.LogsOf(te.Fake).AddLogGroup(lambdaGroup)
	ctx := mcptest.UserCtx(te.Alice)
	base := func(extra map[string]any) map[string]any {
		m := map[string]any{"start_time": "2025-01-01T00:00:00Z", "end_time": "2025-01-01T01:00:00Z", "query_string": "fields @message | limit 5"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	res := te.CallTool(t, ctx, "execute_log_insights_query", base(map[string]any{"log_group_data_source": map[string]any{
		"name_prefixes": []any{"/aws/lambda/", "it's"}, "account_identifiers": []any{"111122223333"}, "log_group_class": "STANDARD"}}))
	if res.IsError {
		t.Fatal(mcptest.ResultText(t, res))
	}
	// A query_string that brings its own SOURCE needs no log groups either.
	if res := te.CallTool(t, ctx, "execute_log_insights_query", base(map[string]any{"query_string": "SOURCE logGroups() | fields @message | limit 5"})); res.IsError {
		t.Fatal(mcptest.ResultText(t, res))
	}
	qs := fakeaws.LogsOf(te.Fake).Queries()
	if len(qs) != 2 || len(qs[0].LogGroups) != 0 ||
		qs[0].QueryString != `SOURCE logGroups(namePrefix: ['/aws/lambda/', 'it\'s'], accountIdentifiers: ['111122223333'], class: ['STANDARD']) | fields @message | limit 5` {
		t.Fatalf("queries %+v", qs)
	}
	assertOwner(t, te, "StartQuery", 2)

	for _, c := range []struct {
		args map[string]any
		want string
	}{
		{base(map[string]any{"log_group_names": []any{"/a"}, "log_group_data_source": map[string]any{"name_prefixes": []any{"/a"}}}), "Exactly one of log_group_names or log_group_identifiers must be provided"},
		{base(map[string]any{"log_group_data_source": map[string]any{"name_prefixes": []any{""}}}), "must not hold an empty prefix"},
		{base(map[string]any{"log_group_data_source": map[string]any{"name_prefixes": []any{"a", "b", "c", "d", "e", "f"}}}), "at most 5 prefixes"},
		{base(map[string]any{"log_group_data_source": map[string]any{"account_identifiers": []any{"12345"}}}), "not a 12-digit AWS account ID"},
		{base(map[string]any{"log_group_data_source": map[string]any{"log_group_class": "GLACIER"}}), "log_group_class must be STANDARD or INFREQUENT_ACCESS"},
		{base(map[string]any{"log_group_data_source": map[string]any{"name_prefixes": []any{"/a"}}, "query_string": "SOURCE logGroups() | fields @message"}), "has its own SOURCE command"},
		{base(map[string]any{"log_group_data_source": "not an object"}), "log_group_data_source has the wrong shape"},
	} {
		mcptest.WantToolError(t, te.CallTool(t, ctx, "execute_log_insights_query", c.args), c.want)
	}
}

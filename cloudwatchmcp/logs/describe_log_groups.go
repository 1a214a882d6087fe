package logs

import (
	"context"
	"encoding/json"
	"regexp"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/mark3labs/mcp-go/mcp"
	"golang.org/x/sync/errgroup"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

func init() {
	toolkit.Register(toolkit.Tool{Group: "logs", Tool: describeLogGroupsTool, Handler: describeLogGroups, Result: &toolkit.ResultShape{
		Trims: [][]toolkit.Trim{{toolkit.TrimEnd("log_group_metadata"), toolkit.TrimEnd("saved_queries")}},
		Hint:  toolkit.Hint("Log groups were dropped from the end. Narrow the listing with log_group_name_prefix or log_group_class, or cap it with max_items."),
	}})
}

var describeLogGroupsTool = mcp.Tool{
	Name: "describe_log_groups",
	Description: `Lists CloudWatch log groups and the saved CloudWatch Logs Insights queries that apply to them.

Use this first to find the log groups to query or analyze, and to reuse queries your team has already saved.

Usage:
- Narrow the listing with log_group_name_prefix (e.g. "/aws/lambda/") and cap it with max_items; without max_items every page is fetched.
- In a CloudWatch cross-account monitoring account, set include_linked_accounts=true to include log groups of linked source accounts, optionally restricted with account_identifiers.

Returns:
- log_group_metadata: per log group its name, ARN (logGroupArn, the form other tools expect), creation time (ISO 8601, UTC), retention in days, stored bytes, metric filter count, KMS key, data protection status, inherited properties and log group class.
- saved_queries: the saved Logs Insights (CWLI) queries whose log group names include a returned log group, or whose "SOURCE logGroups(namePrefix: [...])" prefixes match one, with their query strings.`,
	RawInputSchema: logsSchema(map[string]any{
		"account_identifiers":     logsOptional(logsArrayOf("string", 0), "When include_linked_accounts is true, only return log groups of these source account IDs (up to 20)."),
		"include_linked_accounts": logsOptionalDefault(map[string]any{"type": "boolean"}, false, "In a monitoring account, also return log groups of linked source accounts."),
		"log_group_class":         logsOptional(map[string]any{"type": "string", "enum": []string{"STANDARD", "INFREQUENT_ACCESS"}}, "Only return log groups of this log class."),
		"log_group_name_prefix":   logsOptional(map[string]any{"type": "string"}, "Only return log groups whose names start with this exact prefix (case-sensitive)."),
		"max_items":               logsOptional(map[string]any{"type": "integer", "minimum": 1}, "Maximum number of log groups to return; all of them when omitted."),
		"region":                  logsRegionProp,
		"profile_name":            logsProfileProp,
	}),
	RawOutputSchema: json.RawMessage(`{"type":"object","title":"LogsMetadata","properties":{` +
		`"log_group_metadata":{"type":"array","items":{"type":"object","properties":{` +
		`"logGroupName":{"type":"string"},"creationTime":{"type":["string","null"]},"retentionInDays":{"type":["integer","null"]},` +
		`"metricFilterCount":{"type":"integer"},"storedBytes":{"type":["integer","null"]},"kmsKeyId":{"type":["string","null"]},` +
		`"dataProtectionStatus":{"type":["string","null"]},"inheritedProperties":{"type":"array","items":{"type":"string"}},` +
		`"logGroupClass":{"type":"string"},"logGroupArn":{"type":"string"}},"required":["logGroupName","metricFilterCount","logGroupArn"]}},` +
		`"saved_queries":{"type":"array","items":{"type":"object","properties":{"logGroupNames":{"type":"array","items":{"type":"string"}},` +
		`"name":{"type":"string"},"queryString":{"type":"string"},"logGroupPrefixes":{"type":"array","items":{"type":"string"}}},` +
		`"required":["name","queryString"]}}},"required":["log_group_metadata","saved_queries"]}`),
	Annotations: logsReadOnly("Describe log groups"),
}

// logGroupMetadata is awslabs' LogGroupMetadata. Fields AWS may omit are
// nullable (awslabs required metricFilterCount and logGroupArn and failed
// the whole listing when one was missing).
type logGroupMetadata struct {
	LogGroupName         string   `json:"logGroupName"`
	CreationTime         *string  `json:"creationTime"`
	RetentionInDays      *int32   `json:"retentionInDays"`
	MetricFilterCount    int32    `json:"metricFilterCount"`
	StoredBytes          *int64   `json:"storedBytes"`
	KmsKeyID             *string  `json:"kmsKeyId"`
	DataProtectionStatus *string  `json:"dataProtectionStatus"`
	InheritedProperties  []string `json:"inheritedProperties"`
	LogGroupClass        string   `json:"logGroupClass"`
	LogGroupArn          string   `json:"logGroupArn"`
}

// savedLogsInsightsQuery is awslabs' SavedLogsInsightsQuery (its sets are
// sorted arrays here, so output is deterministic).
type savedLogsInsightsQuery struct {
	LogGroupNames    []string `json:"logGroupNames"`
	Name             string   `json:"name"`
	QueryString      string   `json:"queryString"`
	LogGroupPrefixes []string `json:"logGroupPrefixes"`
}

type logsMetadata struct {
	LogGroupMetadata []logGroupMetadata       `json:"log_group_metadata"`
	SavedQueries     []savedLogsInsightsQuery `json:"saved_queries"`
}

func describeLogGroups(ctx context.Context, e *toolkit.Env, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a := toolkit.ArgsOf(req)
	accounts, err := a.StrList("account_identifiers")
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	linked, err := a.Bool("include_linked_accounts", false)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	class, err := a.Str("log_group_class", "")
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	if class != "" && class != string(types.LogGroupClassStandard) && class != string(types.LogGroupClassInfrequentAccess) {
		return toolkit.ErrorResult(ctx, toolkit.Errorf("log_group_class must be STANDARD or INFREQUENT_ACCESS, got %q", class)), nil
	}
	prefix, err := a.Str("log_group_name_prefix", "")
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	maxItems, err := a.Int("max_items", 0)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	if a.Has("max_items") && maxItems < 1 {
		return toolkit.ErrorResult(ctx, toolkit.Errorf("max_items must be at least 1 (omit it to list every log group)")), nil
	}
	if len(accounts) > 20 {
		return toolkit.ErrorResult(ctx, toolkit.Errorf("account_identifiers accepts at most 20 account IDs, got %d", len(accounts))), nil
	}
	region, _ := a.Str("region", "")
	profile, _ := a.Str("profile_name", "")
	cl, err := e.LogsClient(ctx, region, profile)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}

	in := &cloudwatchlogs.DescribeLogGroupsInput{AccountIdentifiers: accounts, LogGroupClass: types.LogGroupClass(class)}
	if linked {
		in.IncludeLinkedAccounts = aws.Bool(true)
	}
	if prefix != "" {
		in.LogGroupNamePrefix = aws.String(prefix)
	}
	// The saved queries don't depend on the listing, so both are fetched at
	// once; only the filtering needs both.
	var groups []types.LogGroup
	var defs []types.QueryDefinition
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		groups, err = listLogGroups(gctx, cl, in, maxItems)
		return err
	})
	g.Go(func() (err error) {
		defs, err = listCWLIQueryDefinitions(gctx, cl)
		return err
	})
	if err := g.Wait(); err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}

	out := logsMetadata{LogGroupMetadata: make([]logGroupMetadata, 0, len(groups)), SavedQueries: []savedLogsInsightsQuery{}}
	names := make([]string, 0, len(groups))
	for _, lg := range groups {
		out.LogGroupMetadata = append(out.LogGroupMetadata, toLogGroupMetadata(lg))
		names = append(names, aws.ToString(lg.LogGroupName))
	}
	out.SavedQueries = matchSavedQueries(defs, names)
	return toolkit.JSONResult(out), nil
}

// listLogGroups follows DescribeLogGroups pages until maxItems (0 = all).
func listLogGroups(ctx context.Context, cl *cloudwatchlogs.Client, in *cloudwatchlogs.DescribeLogGroupsInput, maxItems int) ([]types.LogGroup, error) {
	var out []types.LogGroup
	for {
		if maxItems > 0 {
			// Ask only for what is still missing, as boto3's MaxItems does.
			in.Limit = aws.Int32(int32(min(50, maxItems-len(out))))
		}
		page, err := cl.DescribeLogGroups(ctx, in)
		if err != nil {
			return nil, err
		}
		out = append(out, page.LogGroups...)
		if maxItems > 0 && len(out) >= maxItems {
			return out[:maxItems], nil
		}
		if page.NextToken == nil || aws.ToString(page.NextToken) == aws.ToString(in.NextToken) {
			return out, nil
		}
		in.NextToken = page.NextToken
	}
}

// listCWLIQueryDefinitions returns every saved Logs Insights QL query.
func listCWLIQueryDefinitions(ctx context.Context, cl *cloudwatchlogs.Client) ([]types.QueryDefinition, error) {
	var out []types.QueryDefinition
	in := &cloudwatchlogs.DescribeQueryDefinitionsInput{QueryLanguage: types.QueryLanguageCwli}
	for {
		page, err := cl.DescribeQueryDefinitions(ctx, in)
		if err != nil {
			return nil, err
		}
		out = append(out, page.QueryDefinitions...)
		if page.NextToken == nil || aws.ToString(page.NextToken) == aws.ToString(in.NextToken) {
			return out, nil
		}
		in.NextToken = page.NextToken
	}
}

func toLogGroupMetadata(lg types.LogGroup) logGroupMetadata {
	m := logGroupMetadata{
		LogGroupName:        aws.ToString(lg.LogGroupName),
		RetentionInDays:     lg.RetentionInDays,
		MetricFilterCount:   aws.ToInt32(lg.MetricFilterCount),
		StoredBytes:         lg.StoredBytes,
		KmsKeyID:            lg.KmsKeyId,
		InheritedProperties: []string{},
		LogGroupClass:       string(lg.LogGroupClass),
		LogGroupArn:         aws.ToString(lg.LogGroupArn),
	}
	if lg.CreationTime != nil {
		s := isoFromEpochMillis(*lg.CreationTime)
		m.CreationTime = &s
	}
	if lg.DataProtectionStatus != "" {
		s := string(lg.DataProtectionStatus)
		m.DataProtectionStatus = &s
	}
	for _, p := range lg.InheritedProperties {
		m.InheritedProperties = append(m.InheritedProperties, string(p))
	}
	if m.LogGroupClass == "" {
		m.LogGroupClass = string(types.LogGroupClassStandard)
	}
	if m.LogGroupArn == "" {
		m.LogGroupArn = strings.TrimSuffix(aws.ToString(lg.Arn), ":*")
	}
	return m
}

var (
	// A SOURCE command may span lines; awslabs' pattern stops at a newline.
	sourceLogGroupsRe = regexp.MustCompile(`(?s)SOURCE\s+logGroups\((.*?)\)`)
	namePrefixRe      = regexp.MustCompile(`(?s)namePrefix:\s*\[(.*?)\]`)
)

// sourceNamePrefixes extracts the namePrefix list of a query's SOURCE
// command. Empty entries are dropped: "" would match every log group.
func sourceNamePrefixes(query string) []string {
	src := sourceLogGroupsRe.FindStringSubmatch(query)
	if src == nil {
		return nil
	}
	np := namePrefixRe.FindStringSubmatch(src[1])
	if np == nil {
		return nil
	}
	var out []string
	for _, p := range strings.Split(np[1], ",") {
		p = strings.Trim(strings.TrimSpace(p), `"'`)
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// matchSavedQueries keeps the saved queries that name one of the listed log
// groups or whose SOURCE prefixes match one.
func matchSavedQueries(defs []types.QueryDefinition, names []string) []savedLogsInsightsQuery {
	out := []savedLogsInsightsQuery{}
	if len(names) == 0 {
		return out
	}
	listed := make(map[string]bool, len(names))
	for _, n := range names {
		listed[n] = true
	}
	for _, d := range defs {
		q := savedLogsInsightsQuery{
			LogGroupNames:    logsSortedSet(d.LogGroupNames),
			Name:             aws.ToString(d.Name),
			QueryString:      aws.ToString(d.QueryString),
			LogGroupPrefixes: logsSortedSet(sourceNamePrefixes(aws.ToString(d.QueryString))),
		}
		match := false
		for _, n := range q.LogGroupNames {
			match = match || listed[n]
		}
		for _, p := range q.LogGroupPrefixes {
			for _, n := range names {
				match = match || strings.HasPrefix(n, p)
			}
		}
		if match {
			out = append(out, q)
		}
	}
	return out
}

// logsSortedSet dedups and sorts, standing in for a Python set.
func logsSortedSet(in []string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

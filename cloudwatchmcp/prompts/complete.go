package prompts

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/mark3labs/mcp-go/mcp"
	"golang.org/x/sync/singleflight"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

const (
	// CompletionTTL is how long a caller's completions are reused.
	CompletionTTL = time.Minute
	// maxCacheEntries bounds the completion cache (identities × prefixes).
	maxCacheEntries = 4096
	// maxValues is the most values one completion returns (the MCP limit).
	maxValues = 100
	// maxMetricPages bounds the ListMetrics pages read for namespaces
	// (500 metrics each).
	maxMetricPages = 4
)

// Completer answers completion/complete for the prompts' arguments with
// the caller's own resources: AWS is asked with the caller's credentials
// (the Env's per-identity clients, as tools are), and answers are cached
// per credentials identity for CompletionTTL.
type Completer struct {
	env   *toolkit.Env
	cache *completionCache
	fetch singleflight.Group

	// Visible reports whether the caller may see the prompt (authorize
	// rules, served groups); nil means every prompt. A prompt the caller
	// cannot see completes to nothing, as an unknown one does, so
	// completions do not reveal it.
	Visible func(ctx context.Context, prompt string) bool
}

// NewCompleter returns a Completer on e, whose clock (e.Now) ages the cache.
func NewCompleter(e *toolkit.Env) *Completer {
	return &Completer{env: e, cache: newCompletionCache(CompletionTTL, maxCacheEntries, func() time.Time { return e.Now() })}
}

// CompletePromptArgument implements mcp-go's server.PromptCompletionProvider.
func (c *Completer) CompletePromptArgument(ctx context.Context, promptName string, arg mcp.CompleteArgument, _ mcp.CompleteContext) (*mcp.Completion, error) {
	p, ok := Lookup(promptName)
	if !ok || (c.Visible != nil && !c.Visible(ctx, promptName)) {
		return &mcp.Completion{Values: []string{}}, nil
	}
	a, ok := p.argument(arg.Name)
	if !ok || len(arg.Value) > maxArgBytes {
		return &mcp.Completion{Values: []string{}}, nil
	}
	value := arg.Value
	switch a.Source {
	case Fixed:
		return completion(matching(a.Suggest, value), true), nil
	case LogGroupList:
		// Complete the last element; keep the ones before it.
		head, last := "", value
		if i := strings.LastIndex(value, ","); i >= 0 {
			head, last = value[:i+1], value[i+1:]
		}
		trimmed := strings.TrimLeft(last, " ")
		head += last[:len(last)-len(trimmed)]
		vals, complete, err := c.lookup(ctx, LogGroup, trimmed)
		if err != nil {
			return nil, err
		}
		for i, v := range vals {
			vals[i] = head + v
		}
		return completion(vals, complete), nil
	default:
		vals, complete, err := c.lookup(ctx, a.Source, value)
		if err != nil {
			return nil, err
		}
		return completion(vals, complete), nil
	}
}

// completion caps vals at the MCP limit.
func completion(vals []string, complete bool) *mcp.Completion {
	out := &mcp.Completion{Values: vals, Total: len(vals), HasMore: !complete || len(vals) > maxValues}
	if len(vals) > maxValues {
		out.Values = vals[:maxValues]
	}
	if out.Values == nil {
		out.Values = []string{}
	}
	return out
}

func matching(list []string, prefix string) []string {
	var out []string
	for _, v := range list {
		if strings.HasPrefix(v, prefix) {
			out = append(out, v)
		}
	}
	return out
}

// lookup returns the caller's resources of src starting with prefix, from
// the cache when an entry for this prefix, or a complete one for a shorter
// prefix, is fresh; otherwise from AWS.
func (c *Completer) lookup(ctx context.Context, src Source, prefix string) ([]string, bool, error) {
	if src == LogGroup && prefix != "" && !logGroupPrefix(prefix) {
		return nil, true, nil // AWS would refuse the prefix; no group can match
	}
	_, id, err := c.env.CallerCredentials(ctx, "")
	if err != nil {
		return nil, false, err
	}
	region, err := c.env.Region("")
	if err != nil {
		return nil, false, err
	}
	base := id + "\x00" + region + "\x00" + string(rune('0'+src)) + "\x00"
	// Namespaces are listed whole (ListMetrics has no prefix filter).
	query := prefix
	if src == Namespace {
		query = ""
	}
	for n := len(query); n >= 0; n-- {
		if e, ok := c.cache.get(base + query[:n]); ok && (n == len(query) || e.complete) {
			return matching(e.values, prefix), e.complete, nil
		}
	}
	type answer struct {
		values   []string
		complete bool
	}
	v, err, _ := c.fetch.Do(base+query, func() (any, error) {
		vals, complete, err := c.fromAWS(ctx, src, query)
		if err != nil {
			return nil, err
		}
		c.cache.put(base+query, vals, complete)
		return answer{vals, complete}, nil
	})
	if err != nil {
		return nil, false, toolkit.Errorf("completing %s: %s", sourceName(src), toolkit.ErrorMessage(err))
	}
	ans := v.(answer)
	return matching(ans.values, prefix), ans.complete, nil
}

func sourceName(src Source) string {
	switch src {
	case Alarm:
		return "alarm names"
	case Namespace:
		return "metric namespaces"
	}
	return "log groups"
}

// logGroupPrefix reports whether AWS accepts s as a log group name prefix.
func logGroupPrefix(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-/#", r))
	})
}

// fromAWS asks AWS with the caller's credentials: one request for log
// groups and alarms (a page of matches for the prefix), up to
// maxMetricPages for namespaces.
func (c *Completer) fromAWS(ctx context.Context, src Source, prefix string) ([]string, bool, error) {
	switch src {
	case LogGroup:
		cl, err := c.env.LogsClient(ctx, "", "")
		if err != nil {
			return nil, false, err
		}
		in := &cloudwatchlogs.DescribeLogGroupsInput{Limit: aws.Int32(50)}
		if prefix != "" {
			in.LogGroupNamePrefix = aws.String(prefix)
		}
		out, err := cl.DescribeLogGroups(ctx, in)
		if err != nil {
			return nil, false, err
		}
		vals := make([]string, 0, len(out.LogGroups))
		for _, g := range out.LogGroups {
			vals = append(vals, aws.ToString(g.LogGroupName))
		}
		return vals, out.NextToken == nil, nil
	case Alarm:
		cl, err := c.env.CloudWatchClient(ctx, "", "")
		if err != nil {
			return nil, false, err
		}
		in := &cloudwatch.DescribeAlarmsInput{MaxRecords: aws.Int32(100),
			AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm}}
		if prefix != "" {
			in.AlarmNamePrefix = aws.String(prefix)
		}
		out, err := cl.DescribeAlarms(ctx, in)
		if err != nil {
			return nil, false, err
		}
		var vals []string
		for _, a := range out.MetricAlarms {
			vals = append(vals, aws.ToString(a.AlarmName))
		}
		for _, a := range out.CompositeAlarms {
			vals = append(vals, aws.ToString(a.AlarmName))
		}
		slices.Sort(vals)
		return vals, out.NextToken == nil, nil
	default:
		cl, err := c.env.CloudWatchClient(ctx, "", "")
		if err != nil {
			return nil, false, err
		}
		var vals []string
		in := &cloudwatch.ListMetricsInput{}
		for page := 0; page < maxMetricPages; page++ {
			out, err := cl.ListMetrics(ctx, in)
			if err != nil {
				return nil, false, err
			}
			for _, m := range out.Metrics {
				if ns := aws.ToString(m.Namespace); ns != "" && !slices.Contains(vals, ns) {
					vals = append(vals, ns)
				}
			}
			if out.NextToken == nil {
				slices.Sort(vals)
				return vals, true, nil
			}
			in.NextToken = out.NextToken
		}
		slices.Sort(vals)
		return vals, false, nil
	}
}

package logs

import (
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/mark3labs/mcp-go/mcp"
	"golang.org/x/sync/errgroup"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

// The two pattern queries of analyze_log_group, verbatim from awslabs so
// that results (and saved expectations) compare.
const (
	topPatternsQuery      = "pattern @message | sort @sampleCount desc | limit 5"
	topErrorPatternsQuery = "fields @timestamp, @message | filter @message like /(?i)(error|exception|fail|timeout|fatal)/ | pattern @message | limit 5"
	analyzeQueryTimeout   = 30 * time.Second
)

func init() {
	toolkit.Register(toolkit.Tool{Group: "logs", Tool: analyzeLogGroupTool, Handler: analyzeLogGroup, Result: &toolkit.ResultShape{
		Trims: [][]toolkit.Trim{{
			toolkit.TrimEnd("log_anomaly_results", "anomalies"), toolkit.TrimEnd("log_anomaly_results", "anomaly_detectors"),
			toolkit.TrimEnd("top_patterns", "results"), toolkit.TrimEnd("top_patterns_containing_errors", "results"),
		}},
		Hint: toolkit.Hint("Anomalies and patterns were dropped from the end. Analyze a shorter time range (start_time/end_time) to get fewer of them."),
	}})
}

var analyzeLogGroupTool = mcp.Tool{
	Name: "analyze_log_group",
	Description: `Analyzes one CloudWatch log group over a time window for anomalies and recurring message patterns.

Use it as a first look at a log group during an investigation, before writing your own Logs Insights queries.

It runs three things at once:
- the log anomaly detectors watching the log group, and their unsuppressed anomalies seen in the window;
- the 5 most frequent message patterns (pattern @message);
- the 5 most frequent patterns among messages that mention error, exception, fail, timeout or fatal.

Usage: pass the log group's ARN (logGroupArn from describe_log_groups) and an ISO 8601 window (no offset means UTC). The region defaults to the one in the ARN.

Returns log_anomaly_results (anomaly_detectors and anomalies, each anomaly with its first/last sighting, priority, pattern, one sample message and a histogram), top_patterns and top_patterns_containing_errors (each an execute_log_insights_query result whose rows carry @pattern, @sampleCount, @ratio and one @logSamples entry).`,
	RawInputSchema: logsSchema(map[string]any{
		"log_group_arn": map[string]any{"type": "string", "description": "ARN of the log group (logGroupArn from describe_log_groups), e.g. arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/checkout."},
		"start_time":    map[string]any{"type": "string", "description": "Start of the window, ISO 8601 (e.g. 2025-04-19T20:00:00Z; no offset means UTC)."},
		"end_time":      map[string]any{"type": "string", "description": "End of the window, ISO 8601 (e.g. 2025-04-19T21:00:00Z; no offset means UTC)."},
		"region":        logsOptional(map[string]any{"type": "string"}, "AWS region; defaults to the region in log_group_arn."),
		"profile_name":  logsProfileProp,
	}, "log_group_arn", "start_time", "end_time"),
	RawOutputSchema: json.RawMessage(`{"type":"object","title":"LogsAnalysisResult","properties":{` +
		`"log_anomaly_results":{"type":"object","properties":{"anomaly_detectors":{"type":"array","items":{"type":"object"}},"anomalies":{"type":"array","items":{"type":"object"}}},"required":["anomaly_detectors","anomalies"]},` +
		`"top_patterns":{"type":"object","additionalProperties":true},"top_patterns_containing_errors":{"type":"object","additionalProperties":true}},` +
		`"required":["log_anomaly_results","top_patterns","top_patterns_containing_errors"]}`),
	Annotations: logsReadOnly("Analyze a log group"),
}

type logAnomalyDetector struct {
	AnomalyDetectorArn    string `json:"anomalyDetectorArn"`
	DetectorName          string `json:"detectorName"`
	AnomalyDetectorStatus string `json:"anomalyDetectorStatus"`
}

// logAnomaly is awslabs' LogAnomaly: times as ISO 8601, only the first log
// sample, histogram keyed by ISO time.
type logAnomaly struct {
	AnomalyDetectorArn string              `json:"anomalyDetectorArn"`
	LogGroupArnList    []string            `json:"logGroupArnList"`
	FirstSeen          string              `json:"firstSeen"`
	LastSeen           string              `json:"lastSeen"`
	Description        string              `json:"description"`
	Priority           *string             `json:"priority"`
	PatternRegex       *string             `json:"patternRegex"`
	PatternString      string              `json:"patternString"`
	LogSamples         []map[string]string `json:"logSamples"`
	Histogram          map[string]int64    `json:"histogram"`
}

type logAnomalyResults struct {
	AnomalyDetectors []logAnomalyDetector `json:"anomaly_detectors"`
	Anomalies        []logAnomaly         `json:"anomalies"`
}

type logsAnalysisResult struct {
	LogAnomalyResults          logAnomalyResults   `json:"log_anomaly_results"`
	TopPatterns                insightsQueryResult `json:"top_patterns"`
	TopPatternsContainingError insightsQueryResult `json:"top_patterns_containing_errors"`
}

var logGroupARNRe = regexp.MustCompile(`^arn:aws[a-z-]*:logs:([a-z0-9-]+):(\d{12}):log-group:(.+)$`)

func analyzeLogGroup(ctx context.Context, e *toolkit.Env, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a := toolkit.ArgsOf(req)
	arn, err := a.RequiredStr("log_group_arn")
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	arn = trimLogGroupARN(strings.TrimSpace(arn))
	m := logGroupARNRe.FindStringSubmatch(arn)
	if m == nil {
		return toolkit.ErrorResult(ctx, toolkit.Errorf("log_group_arn %q is not a log group ARN; pass logGroupArn from describe_log_groups, e.g. arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/checkout", arn)), nil
	}
	start, ok, err := a.Time("start_time")
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	} else if !ok {
		return toolkit.ErrorResult(ctx, toolkit.Errorf("start_time is required (ISO 8601, e.g. 2025-04-19T20:00:00Z)")), nil
	}
	end, ok, err := a.Time("end_time")
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	} else if !ok {
		return toolkit.ErrorResult(ctx, toolkit.Errorf("end_time is required (ISO 8601, e.g. 2025-04-19T21:00:00Z)")), nil
	}
	if end.Before(start) {
		return toolkit.ErrorResult(ctx, toolkit.Errorf("end_time (%s) is before start_time (%s)", end.Format(time.RFC3339), start.Format(time.RFC3339))), nil
	}
	region, _ := a.Str("region", "")
	if region == "" {
		region = m[1] // a log group can only be queried in its own region
	}
	profile, _ := a.Str("profile_name", "")
	// One client for all three tasks: awslabs ran the Insights queries with
	// the default credentials instead of profile_name.
	cl, err := e.LogsClient(ctx, region, profile)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}

	progress := toolkit.ProgressNotifier(ctx, req)
	var out logsAnalysisResult
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		out.LogAnomalyResults, err = logAnomaliesInWindow(gctx, cl, arn, start, end)
		return err
	})
	for _, q := range []struct {
		query, label string
		dst          *insightsQueryResult
	}{
		{topPatternsQuery, "top patterns query", &out.TopPatterns},
		{topErrorPatternsQuery, "error patterns query", &out.TopPatternsContainingError},
	} {
		g.Go(func() error {
			res, _, err := runInsightsQuery(gctx, e, cl, insightsRun{
				Identifiers: []string{arn}, Start: start, End: end, Query: q.query,
				Limit: 5, Timeout: analyzeQueryTimeout, Progress: progress, Label: q.label,
			})
			cleanUpPatterns(res.Results)
			*q.dst = res
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	return toolkit.JSONResult(out), nil
}

// logAnomaliesInWindow lists the log group's detectors and their
// unsuppressed anomalies that overlap [start, end].
func logAnomaliesInWindow(ctx context.Context, cl *cloudwatchlogs.Client, arn string, start, end time.Time) (logAnomalyResults, error) {
	res := logAnomalyResults{AnomalyDetectors: []logAnomalyDetector{}, Anomalies: []logAnomaly{}}
	dp := cloudwatchlogs.NewListLogAnomalyDetectorsPaginator(cl, &cloudwatchlogs.ListLogAnomalyDetectorsInput{FilterLogGroupArn: aws.String(arn)})
	for dp.HasMorePages() {
		page, err := dp.NextPage(ctx)
		if err != nil {
			return res, err
		}
		for _, d := range page.AnomalyDetectors {
			res.AnomalyDetectors = append(res.AnomalyDetectors, logAnomalyDetector{
				AnomalyDetectorArn:    aws.ToString(d.AnomalyDetectorArn),
				DetectorName:          aws.ToString(d.DetectorName),
				AnomalyDetectorStatus: string(d.AnomalyDetectorStatus),
			})
		}
	}
	startMs, endMs := start.UnixMilli(), end.UnixMilli()
	for _, d := range res.AnomalyDetectors {
		ap := cloudwatchlogs.NewListAnomaliesPaginator(cl, &cloudwatchlogs.ListAnomaliesInput{
			AnomalyDetectorArn: aws.String(d.AnomalyDetectorArn),
			SuppressionState:   types.SuppressionStateUnsuppressed,
		})
		for ap.HasMorePages() {
			page, err := ap.NextPage(ctx)
			if err != nil {
				return res, err
			}
			for _, an := range page.Anomalies {
				if an.FirstSeen > endMs || an.LastSeen < startMs || !anomalyCoversLogGroup(an, arn) {
					continue
				}
				res.Anomalies = append(res.Anomalies, toLogAnomaly(an))
			}
		}
	}
	return res, nil
}

// anomalyCoversLogGroup compares ARNs without the optional ":*", which
// awslabs' exact match did not.
func anomalyCoversLogGroup(an types.Anomaly, arn string) bool {
	for _, a := range an.LogGroupArnList {
		if trimLogGroupARN(a) == arn {
			return true
		}
	}
	return false
}

func toLogAnomaly(an types.Anomaly) logAnomaly {
	la := logAnomaly{
		AnomalyDetectorArn: aws.ToString(an.AnomalyDetectorArn),
		LogGroupArnList:    append([]string{}, an.LogGroupArnList...),
		FirstSeen:          isoFromEpochMillis(an.FirstSeen),
		LastSeen:           isoFromEpochMillis(an.LastSeen),
		Description:        aws.ToString(an.Description),
		Priority:           an.Priority,
		PatternRegex:       an.PatternRegex,
		PatternString:      aws.ToString(an.PatternString),
		LogSamples:         []map[string]string{},
		Histogram:          make(map[string]int64, len(an.Histogram)),
	}
	if len(an.LogSamples) > 0 {
		s := an.LogSamples[0]
		sample := map[string]string{"message": aws.ToString(s.Message)}
		if s.Timestamp != nil {
			sample["timestamp"] = isoFromEpochMillis(*s.Timestamp)
		}
		la.LogSamples = append(la.LogSamples, sample)
	}
	for k, v := range an.Histogram {
		if ms, err := strconv.ParseInt(k, 10, 64); err == nil {
			k = isoFromEpochMillis(ms)
		}
		la.Histogram[k] = v
	}
	return la
}

// cleanUpPatterns trims pattern-query rows as awslabs' clean_up_pattern
// does: @tokens and @visualization go, and @logSamples (a JSON string)
// becomes a list holding only its first sample. Samples that are not JSON
// are kept as they are instead of failing the whole tool.
func cleanUpPatterns(rows []map[string]any) {
	for _, row := range rows {
		delete(row, "@tokens")
		delete(row, "@visualization")
		raw, ok := row["@logSamples"].(string)
		if !ok {
			continue
		}
		var samples []any
		if err := json.Unmarshal([]byte(raw), &samples); err != nil {
			continue
		}
		row["@logSamples"] = samples[:min(1, len(samples))]
	}
}

package logs

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

const (
	anomaliesDefaultMax = 100
	anomaliesMaxItems   = 1000
)

func init() {
	toolkit.Register(toolkit.Tool{Group: "logs", Tool: listLogAnomaliesTool, Handler: listLogAnomalies, Result: &toolkit.ResultShape{
		Trims: [][]toolkit.Trim{{toolkit.TrimEnd("anomalies")}},
		Hint: toolkit.Hint("Anomalies were dropped from the end to fit the server's result size limit. " +
			"Narrow the listing with anomaly_detector_arn or log_group_identifier, a shorter time range, or a lower max_items."),
	}})
}

var listLogAnomaliesTool = mcp.Tool{
	Name: "list_log_anomalies",
	Description: `Lists the anomalies CloudWatch Logs anomaly detection found (ListAnomalies): new or unusual log patterns, with when they were first and last seen, their priority, a sample line and a histogram.

Use it to see what changed in the logs around an incident, across a log group's detectors or one detector.

Usage:
- Give anomaly_detector_arn for one detector, or log_group_identifier (name or ARN) for the anomalies of every detector watching that log group that involve it; neither lists every anomaly in the region.
- suppression_state: UNSUPPRESSED (default, what still alerts), SUPPRESSED, or ALL.
- start_time/end_time (ISO 8601, no offset means UTC) keep the anomalies seen within the window (first seen before its end and last seen after its start); ListAnomalies itself has no time filter.
- max_items (default 100) caps the anomalies returned.

Returns anomaly_detectors (those consulted, for a log group) and anomalies (anomalyId, detector, log groups, firstSeen/lastSeen in ISO 8601, description, priority, state, active, suppressed, pattern, one sample and the histogram).`,
	RawInputSchema: logsSchema(map[string]any{
		"anomaly_detector_arn": logsOptional(map[string]any{"type": "string"}, "ARN of one log anomaly detector."),
		"log_group_identifier": logsOptional(map[string]any{"type": "string"}, "Name or ARN of a log group: the anomalies of its detectors that involve it."),
		"suppression_state":    map[string]any{"type": "string", "enum": []string{"UNSUPPRESSED", "SUPPRESSED", "ALL"}, "default": "UNSUPPRESSED", "description": "Which anomalies: not suppressed (default), suppressed, or all."},
		"start_time":           logsOptional(map[string]any{"type": "string"}, "Only anomalies last seen at or after this time, ISO 8601."),
		"end_time":             logsOptional(map[string]any{"type": "string"}, "Only anomalies first seen at or before this time, ISO 8601."),
		"max_items":            map[string]any{"type": "integer", "default": anomaliesDefaultMax, "minimum": 1, "maximum": anomaliesMaxItems, "description": "Maximum number of anomalies to return."},
		"region":               logsOptional(map[string]any{"type": "string"}, "AWS region; defaults to the region of an ARN given, else the server's region."),
		"profile_name":         logsProfileProp,
	}),
	RawOutputSchema: json.RawMessage(`{"type":"object","title":"LogAnomalies","properties":{` +
		`"anomaly_detectors":{"type":"array","items":{"type":"object"}},` +
		`"anomalies":{"type":"array","items":{"type":"object","properties":{"anomalyId":{"type":"string"},"anomalyDetectorArn":{"type":"string"},` +
		`"firstSeen":{"type":"string"},"lastSeen":{"type":"string"},"state":{"type":"string"},"active":{"type":"boolean"},"suppressed":{"type":"boolean"}},` +
		`"required":["anomalyId","anomalyDetectorArn","firstSeen","lastSeen"]}}},"required":["anomaly_detectors","anomalies"]}`),
	Annotations: logsReadOnly("List log anomalies"),
}

// listedAnomaly is analyze_log_group's anomaly (its fields promoted) with
// what a listing needs besides: its id and its state.
type listedAnomaly struct {
	AnomalyID string `json:"anomalyId"`
	logAnomaly
	State      string `json:"state"`
	Active     bool   `json:"active"`
	Suppressed bool   `json:"suppressed"`
}

// anomalyDetectorRegionRe finds the region of an anomaly detector ARN.
var anomalyDetectorRegionRe = regexp.MustCompile(`^arn:aws[a-z-]*:logs:([a-z0-9-]+):\d{12}:anomaly-detector:`)

type logAnomalyListing struct {
	AnomalyDetectors []logAnomalyDetector `json:"anomaly_detectors"`
	Anomalies        []listedAnomaly      `json:"anomalies"`
}

func listLogAnomalies(ctx context.Context, e *toolkit.Env, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a := toolkit.ArgsOf(req)
	det, err := a.Str("anomaly_detector_arn", "")
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	group, err := a.Str("log_group_identifier", "")
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	det, group = strings.TrimSpace(det), trimLogGroupARN(strings.TrimSpace(group))
	state, err := a.Str("suppression_state", "UNSUPPRESSED")
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	state = strings.ToUpper(state)
	if state != "UNSUPPRESSED" && state != "SUPPRESSED" && state != "ALL" {
		return toolkit.ErrorResult(ctx, toolkit.Errorf("suppression_state must be UNSUPPRESSED, SUPPRESSED or ALL, got %q", state)), nil
	}
	start, hasStart, err := a.Time("start_time")
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	end, hasEnd, err := a.Time("end_time")
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	if hasStart && hasEnd && end.Before(start) {
		return toolkit.ErrorResult(ctx, toolkit.Errorf("end_time (%s) is before start_time (%s)", end.Format(time.RFC3339), start.Format(time.RFC3339))), nil
	}
	maxItems, err := a.Int("max_items", anomaliesDefaultMax)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	if maxItems < 1 || maxItems > anomaliesMaxItems {
		return toolkit.ErrorResult(ctx, toolkit.Errorf("max_items must be between 1 and %d, got %d", anomaliesMaxItems, maxItems)), nil
	}
	region, profile := regionAndProfile(a, group)
	if m := anomalyDetectorRegionRe.FindStringSubmatch(det); m != nil && !a.Has("region") {
		region = m[1]
	}
	cl, err := e.LogsClient(ctx, region, profile)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}

	out := logAnomalyListing{AnomalyDetectors: []logAnomalyDetector{}, Anomalies: []listedAnomaly{}}
	groupARN := ""
	detectors := []string{det}
	if group != "" {
		groupARN = group
		if !strings.HasPrefix(group, "arn:") {
			if groupARN, err = logGroupARNOf(ctx, cl, group); err != nil {
				return toolkit.ErrorResult(ctx, err), nil
			}
		}
		dp := cloudwatchlogs.NewListLogAnomalyDetectorsPaginator(cl, &cloudwatchlogs.ListLogAnomalyDetectorsInput{FilterLogGroupArn: aws.String(groupARN)})
		detectors = nil
		for dp.HasMorePages() {
			page, err := dp.NextPage(ctx)
			if err != nil {
				return toolkit.ErrorResult(ctx, err), nil
			}
			for _, d := range page.AnomalyDetectors {
				arn := aws.ToString(d.AnomalyDetectorArn)
				if det != "" && arn != det {
					continue
				}
				out.AnomalyDetectors = append(out.AnomalyDetectors, logAnomalyDetector{AnomalyDetectorArn: arn, DetectorName: aws.ToString(d.DetectorName), AnomalyDetectorStatus: string(d.AnomalyDetectorStatus)})
				detectors = append(detectors, arn)
			}
		}
	}
	for _, d := range detectors {
		in := &cloudwatchlogs.ListAnomaliesInput{}
		if d != "" {
			in.AnomalyDetectorArn = aws.String(d)
		}
		if state != "ALL" {
			in.SuppressionState = types.SuppressionState(state)
		}
		ap := cloudwatchlogs.NewListAnomaliesPaginator(cl, in)
		for ap.HasMorePages() && len(out.Anomalies) < maxItems {
			page, err := ap.NextPage(ctx)
			if err != nil {
				return toolkit.ErrorResult(ctx, err), nil
			}
			for _, an := range page.Anomalies {
				if hasStart && an.LastSeen < start.UnixMilli() || hasEnd && an.FirstSeen > end.UnixMilli() ||
					groupARN != "" && !anomalyCoversLogGroup(an, groupARN) || len(out.Anomalies) >= maxItems {
					continue
				}
				out.Anomalies = append(out.Anomalies, listedAnomaly{AnomalyID: aws.ToString(an.AnomalyId), logAnomaly: toLogAnomaly(an),
					State: string(an.State), Active: aws.ToBool(an.Active), Suppressed: aws.ToBool(an.Suppressed)})
			}
		}
	}
	return toolkit.JSONResult(out), nil
}

package alarms

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

func init() {
	toolkit.Register(toolkit.Tool{Group: "alarms", Tool: getAlarmHistoryTool, Handler: getAlarmHistory, Result: &toolkit.ResultShape{
		Root:  "result",
		Trims: [][]toolkit.Trim{{toolkit.TrimEnd("history_items"), toolkit.TrimEnd("component_details"), toolkit.TrimEnd("time_range_suggestions")}},
		Hint:  toolkit.Hint("The oldest history items were dropped. Narrow the time range (start_time/end_time), lower max_items, or filter with history_item_type to get the rest."),
	}})
}

var getAlarmHistoryTool = alarmTool("get_alarm_history", getAlarmHistoryDescription, alarmHistoryInputSchema, alarmHistoryOutputSchema)

type alarmHistoryResponse struct {
	AlarmDetails         alarmDetails          `json:"alarm_details"`
	HistoryItems         []alarmHistoryItem    `json:"history_items"`
	TimeRangeSuggestions []timeRangeSuggestion `json:"time_range_suggestions"`
	HasMoreResults       bool                  `json:"has_more_results"`
	Message              *string               `json:"message"`
}

type compositeAlarmComponentResponse struct {
	CompositeAlarmName string         `json:"composite_alarm_name"`
	ComponentAlarms    []string       `json:"component_alarms"`
	AlarmRule          string         `json:"alarm_rule"`
	ComponentDetails   []alarmDetails `json:"component_details"`
}

type alarmDetails struct {
	AlarmName          string              `json:"alarm_name"`
	AlarmDescription   *string             `json:"alarm_description"`
	AlarmType          string              `json:"alarm_type"`
	CurrentState       string              `json:"current_state"`
	MetricName         *string             `json:"metric_name"`
	Namespace          *string             `json:"namespace"`
	Dimensions         []map[string]string `json:"dimensions"`
	Threshold          *alarmFloat         `json:"threshold"`
	ComparisonOperator *string             `json:"comparison_operator"`
	EvaluationPeriods  *int32              `json:"evaluation_periods"`
	Period             *int32              `json:"period"`
	Statistic          *string             `json:"statistic"`
	AlarmRule          *string             `json:"alarm_rule"`
}

type alarmHistoryItem struct {
	AlarmName       string  `json:"alarm_name"`
	AlarmType       string  `json:"alarm_type"`
	Timestamp       pyTime  `json:"timestamp"`
	HistoryItemType string  `json:"history_item_type"`
	HistorySummary  string  `json:"history_summary"`
	OldState        *string `json:"old_state"`
	NewState        *string `json:"new_state"`
	StateReason     *string `json:"state_reason"`
}

type timeRangeSuggestion struct {
	StartTime pyTime `json:"start_time"`
	EndTime   pyTime `json:"end_time"`
	Reason    string `json:"reason"`
}

// alarmHistoryItemTypes are the values DescribeAlarmHistory accepts.
var alarmHistoryItemTypes = []string{"ConfigurationUpdate", "StateUpdate", "Action", "AlarmContributorStateUpdate", "AlarmContributorAction"}

const (
	// flappingGap is the largest gap between two transitions to ALARM that
	// still counts as the same bout of flapping.
	flappingGap = time.Hour
	// Defaults for alarms whose period is unknown (composite, not found).
	defaultAlarmPeriod            = 300
	defaultAlarmEvaluationPeriods = 1
)

func getAlarmHistory(ctx context.Context, e *toolkit.Env, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	p, err := parseAlarmHistoryArgs(toolkit.ArgsOf(req), e.Now)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	cl, err := e.CloudWatchClient(ctx, p.region, p.profile)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}

	// The details decide whether the history is needed at all: awslabs
	// fetches it and then throws it away for composite component requests.
	details, raw := describeAlarmDetails(ctx, e, cl, []string{p.alarmName})
	d := details[0]
	if p.includeComponents && d.AlarmType == "CompositeAlarm" {
		return unionResult(compositeComponents(ctx, e, cl, d)), nil
	}

	items, hasMore, err := fetchAlarmHistory(ctx, e, cl, p)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	resp := alarmHistoryResponse{
		AlarmDetails:         d,
		HistoryItems:         items,
		TimeRangeSuggestions: timeRangeSuggestions(items, investigationWindow(raw[p.alarmName])),
		HasMoreResults:       hasMore,
	}
	switch {
	case len(items) == 0:
		resp.Message = aws.String(fmt.Sprintf("No alarm history found for %s in the specified time range", p.alarmName))
	case hasMore:
		resp.Message = aws.String(fmt.Sprintf("Showing %d history items (more available)", len(items)))
	}
	return unionResult(resp), nil
}

type alarmHistoryParams struct {
	alarmName, itemType, region, profile string
	start, end                           time.Time
	maxItems                             int
	includeComponents                    bool
}

func parseAlarmHistoryArgs(a toolkit.Args, now func() time.Time) (alarmHistoryParams, error) {
	var p alarmHistoryParams
	var err error
	if p.alarmName, err = a.RequiredStr("alarm_name"); err != nil {
		return p, toolkit.Errorf("alarm_name is required: the name of the alarm whose history you want (see get_active_alarms)")
	}
	if p.itemType, err = a.Str("history_item_type", ""); err != nil {
		return p, err
	}
	if p.itemType == "" {
		p.itemType = "StateUpdate"
	}
	if !slices.Contains(alarmHistoryItemTypes, p.itemType) {
		return p, toolkit.Errorf("history_item_type %q is not valid: use one of %s", p.itemType, strings.Join(alarmHistoryItemTypes, ", "))
	}
	if p.maxItems, err = a.Int("max_items", 50); err != nil {
		return p, err
	}
	if p.maxItems < 1 {
		return p, toolkit.Errorf("max_items must be at least 1")
	}
	if p.includeComponents, err = a.Bool("include_component_alarms", false); err != nil {
		return p, err
	}
	if p.region, err = a.Str("region", ""); err != nil {
		return p, err
	}
	if p.profile, err = a.Str("profile_name", ""); err != nil {
		return p, err
	}
	end, hasEnd, err := a.Time("end_time")
	if err != nil {
		return p, err
	}
	if !hasEnd {
		end = now().UTC()
	}
	start, hasStart, err := a.Time("start_time")
	if err != nil {
		return p, err
	}
	if !hasStart {
		start = end.Add(-24 * time.Hour)
	}
	if start.After(end) {
		return p, toolkit.Errorf("start_time (%s) is after end_time (%s): give a start before the end", formatPyTime(start), formatPyTime(end))
	}
	p.start, p.end = start, end
	return p, nil
}

// fetchAlarmHistory pages DescribeAlarmHistory (newest first) until it has
// max_items plus one, the extra telling whether more exist.
func fetchAlarmHistory(ctx context.Context, e *toolkit.Env, cl *cloudwatch.Client, p alarmHistoryParams) ([]alarmHistoryItem, bool, error) {
	items := []alarmHistoryItem{}
	want := p.maxItems + 1
	fetched := 0
	var token *string
	for fetched < want {
		out, err := cl.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{
			AlarmName:       aws.String(p.alarmName),
			AlarmTypes:      allAlarmTypes,
			HistoryItemType: cwtypes.HistoryItemType(p.itemType),
			StartDate:       aws.Time(p.start),
			EndDate:         aws.Time(p.end),
			MaxRecords:      aws.Int32(int32(min(want-fetched, maxAlarmRecords))),
			NextToken:       token,
		})
		if err != nil {
			return nil, false, err
		}
		fetched += len(out.AlarmHistoryItems)
		for i := range out.AlarmHistoryItems {
			if len(items) < p.maxItems {
				items = append(items, historyItem(e, &out.AlarmHistoryItems[i]))
			}
		}
		token = out.NextToken
		if aws.ToString(token) == "" {
			break
		}
	}
	return items, fetched > p.maxItems, nil
}

// historyItem flattens one record; StateUpdate records carry the old and
// new state in their HistoryData JSON. Unparseable data keeps the basics.
func historyItem(e *toolkit.Env, it *cwtypes.AlarmHistoryItem) alarmHistoryItem {
	out := alarmHistoryItem{
		AlarmName:       aws.ToString(it.AlarmName),
		AlarmType:       string(it.AlarmType),
		Timestamp:       alarmTime(e, it.Timestamp),
		HistoryItemType: string(it.HistoryItemType),
		HistorySummary:  aws.ToString(it.HistorySummary),
	}
	if it.HistoryItemType != cwtypes.HistoryItemTypeStateUpdate || aws.ToString(it.HistoryData) == "" {
		return out
	}
	var data struct {
		OldState *struct {
			StateValue *string `json:"stateValue"`
		} `json:"oldState"`
		NewState *struct {
			StateValue  *string `json:"stateValue"`
			StateReason *string `json:"stateReason"`
		} `json:"newState"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(it.HistoryData)), &data); err != nil {
		return out
	}
	if data.OldState != nil {
		out.OldState = data.OldState.StateValue
	}
	if data.NewState != nil {
		out.NewState, out.StateReason = data.NewState.StateValue, data.NewState.StateReason
	}
	return out
}

// describeAlarmDetails looks up alarms by name in batches of 100 (awslabs
// makes one call per alarm). Names AWS does not know, and names whose
// lookup failed, get "Unknown" details, as in awslabs. raw holds the metric
// alarms found, for the investigation windows.
func describeAlarmDetails(ctx context.Context, e *toolkit.Env, cl *cloudwatch.Client, names []string) ([]alarmDetails, map[string]*cwtypes.MetricAlarm) {
	metric := map[string]*cwtypes.MetricAlarm{}
	composite := map[string]*cwtypes.CompositeAlarm{}
	failed := map[string]error{}
	for i := 0; i < len(names); i += maxAlarmRecords {
		batch := names[i:min(i+maxAlarmRecords, len(names))]
		var token *string
		for {
			out, err := cl.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: batch, AlarmTypes: allAlarmTypes, NextToken: token})
			if err != nil {
				for _, n := range batch {
					failed[n] = err
				}
				break
			}
			for j := range out.MetricAlarms {
				metric[aws.ToString(out.MetricAlarms[j].AlarmName)] = &out.MetricAlarms[j]
			}
			for j := range out.CompositeAlarms {
				composite[aws.ToString(out.CompositeAlarms[j].AlarmName)] = &out.CompositeAlarms[j]
			}
			if token = out.NextToken; aws.ToString(token) == "" {
				break
			}
		}
	}
	details := make([]alarmDetails, len(names))
	for i, n := range names {
		switch {
		case metric[n] != nil:
			details[i] = metricAlarmDetails(metric[n])
		case composite[n] != nil:
			c := composite[n]
			details[i] = alarmDetails{
				AlarmName: aws.ToString(c.AlarmName), AlarmDescription: c.AlarmDescription, AlarmType: "CompositeAlarm",
				CurrentState: string(c.StateValue), Dimensions: []map[string]string{}, AlarmRule: aws.String(aws.ToString(c.AlarmRule)),
			}
		case failed[n] != nil:
			details[i] = unknownAlarmDetails(n, "Error retrieving alarm details: "+toolkit.ErrorMessage(failed[n]))
		default:
			details[i] = unknownAlarmDetails(n, "Alarm not found")
		}
	}
	return details, metric
}

func unknownAlarmDetails(name, why string) alarmDetails {
	return alarmDetails{AlarmName: name, AlarmDescription: aws.String(why), AlarmType: "Unknown", CurrentState: "Unknown", Dimensions: []map[string]string{}}
}

func metricAlarmDetails(m *cwtypes.MetricAlarm) alarmDetails {
	id := alarmMetricIdentity(m)
	dims := make([]map[string]string, 0, len(id.dimensions))
	for _, d := range id.dimensions {
		// awslabs' details use single-key maps, unlike the active alarms.
		dims = append(dims, map[string]string{aws.ToString(d.Name): aws.ToString(d.Value)})
	}
	w := investigationWindow(m)
	d := alarmDetails{
		AlarmName:          aws.ToString(m.AlarmName),
		AlarmDescription:   m.AlarmDescription,
		AlarmType:          "MetricAlarm",
		CurrentState:       string(m.StateValue),
		MetricName:         aws.String(id.metricName),
		Namespace:          aws.String(id.namespace),
		Dimensions:         dims,
		ComparisonOperator: aws.String(string(m.ComparisonOperator)),
		EvaluationPeriods:  aws.Int32(w.evaluationPeriods),
		Period:             aws.Int32(w.period),
		Statistic:          aws.String(id.statistic),
	}
	if m.Threshold != nil {
		t := alarmFloat(*m.Threshold)
		d.Threshold = &t
	}
	return d
}

// alarmWindow is what the investigation windows are derived from.
type alarmWindow struct{ period, evaluationPeriods int32 }

// investigationWindow reads the alarm's period and evaluation periods, with
// awslabs' defaults (300 s, 1) for composite or unknown alarms.
func investigationWindow(m *cwtypes.MetricAlarm) alarmWindow {
	w := alarmWindow{defaultAlarmPeriod, defaultAlarmEvaluationPeriods}
	if m == nil {
		return w
	}
	if p := alarmMetricIdentity(m).period; p > 0 {
		w.period = p
	}
	if ev := aws.ToInt32(m.EvaluationPeriods); ev > 0 {
		w.evaluationPeriods = ev
	}
	return w
}

// timeRangeSuggestions proposes where to look: around every transition to
// ALARM (5× the evaluation span before, 2 periods after), and around every
// cluster of transitions less than an hour apart (flapping).
func timeRangeSuggestions(items []alarmHistoryItem, w alarmWindow) []timeRangeSuggestion {
	out := []timeRangeSuggestion{}
	var transitions []time.Time
	for _, it := range items {
		if it.HistoryItemType == "StateUpdate" && aws.ToString(it.NewState) == "ALARM" {
			transitions = append(transitions, time.Time(it.Timestamp))
		}
	}
	if len(transitions) == 0 {
		return out
	}
	before := time.Duration(w.period) * time.Duration(w.evaluationPeriods) * 5 * time.Second
	after := time.Duration(w.period) * 2 * time.Second
	for _, t := range transitions {
		out = append(out, timeRangeSuggestion{
			StartTime: pyTime(t.Add(-before)),
			EndTime:   pyTime(t.Add(after)),
			Reason: fmt.Sprintf("Investigation window for alarm transition to ALARM state at %s (based on %d evaluation periods of %ds each)",
				alarmReasonTime(t), w.evaluationPeriods, w.period),
		})
	}
	sort.Slice(transitions, func(i, j int) bool { return transitions[i].Before(transitions[j]) })
	flush := func(cluster []time.Time) {
		if len(cluster) < 2 {
			return
		}
		first, last := cluster[0], cluster[len(cluster)-1]
		out = append(out, timeRangeSuggestion{
			StartTime: pyTime(first.Add(-before)),
			EndTime:   pyTime(last.Add(after)),
			Reason: fmt.Sprintf("Alarm flapping detected: %d transitions to ALARM state between %s and %s",
				len(cluster), alarmReasonTime(first), alarmReasonTime(last)),
		})
	}
	cluster := transitions[:1]
	for _, t := range transitions[1:] {
		if t.Sub(cluster[len(cluster)-1]) <= flappingGap {
			cluster = append(cluster, t)
			continue
		}
		flush(cluster)
		cluster = []time.Time{t}
	}
	flush(cluster)
	return out
}

func alarmReasonTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// compositeComponents answers include_component_alarms for a composite
// alarm: the alarms its rule refers to, with their details.
func compositeComponents(ctx context.Context, e *toolkit.Env, cl *cloudwatch.Client, d alarmDetails) compositeAlarmComponentResponse {
	rule := aws.ToString(d.AlarmRule)
	names := alarmRuleComponents(rule)
	resp := compositeAlarmComponentResponse{CompositeAlarmName: d.AlarmName, ComponentAlarms: names, AlarmRule: rule, ComponentDetails: []alarmDetails{}}
	if len(names) > 0 {
		resp.ComponentDetails, _ = describeAlarmDetails(ctx, e, cl, names)
	}
	return resp
}

var (
	// ALARM(x), OK(x), INSUFFICIENT_DATA(x), x quoted or not, possibly an ARN.
	alarmRuleCall = regexp.MustCompile(`\b(?:ALARM|OK|INSUFFICIENT_DATA)\s*\(\s*("(?:[^"\\]|\\.)*"|[^()"]*?)\s*\)`)
	// AT_LEAST(M, STATE, (x, y, ...)).
	alarmRuleAtLeast  = regexp.MustCompile(`\bAT_LEAST\s*\(\s*[^,()]+,\s*[A-Z_]+\s*,\s*\(([^()]*)\)\s*\)`)
	alarmRuleListItem = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|[^,"]+`)
)

// alarmRuleComponents lists the alarms a composite rule refers to, in rule
// order, without duplicates. Unlike awslabs it also finds unquoted OK(x) and
// INSUFFICIENT_DATA(x), the AT_LEAST lists, and names given as ARNs.
func alarmRuleComponents(rule string) []string {
	names := []string{}
	seen := map[string]bool{}
	type hit struct {
		at   int
		name string
	}
	var hits []hit
	for _, m := range alarmRuleCall.FindAllStringSubmatchIndex(rule, -1) {
		hits = append(hits, hit{m[2], rule[m[2]:m[3]]})
	}
	for _, m := range alarmRuleAtLeast.FindAllStringSubmatchIndex(rule, -1) {
		list := rule[m[2]:m[3]]
		for _, li := range alarmRuleListItem.FindAllStringIndex(list, -1) {
			hits = append(hits, hit{m[2] + li[0], list[li[0]:li[1]]})
		}
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].at < hits[j].at })
	for _, h := range hits {
		n := strings.TrimSpace(h.name)
		if len(n) >= 2 && n[0] == '"' && n[len(n)-1] == '"' {
			n = strings.ReplaceAll(n[1:len(n)-1], `\"`, `"`)
		}
		if strings.HasPrefix(n, "arn:") {
			if i := strings.Index(n, ":alarm:"); i >= 0 {
				n = n[i+len(":alarm:"):]
			}
		}
		if n != "" && !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	return names
}

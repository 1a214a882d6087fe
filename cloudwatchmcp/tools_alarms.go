package cloudwatchmcp

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// The alarms tools, get_active_alarms and get_alarm_history, with the
// names, parameters and result shapes of awslabs' CloudWatch MCP server
// 0.1.8. Deliberate differences are listed in FIXES_alarms.md.

func init() { registerTools("alarms", alarmsTools) }

func alarmsTools(e *Env) []server.ServerTool {
	return []server.ServerTool{
		{Tool: alarmTool("get_active_alarms", getActiveAlarmsDescription, activeAlarmsInputSchema, activeAlarmsOutputSchema), Handler: e.getActiveAlarms},
		{Tool: alarmTool("get_alarm_history", getAlarmHistoryDescription, alarmHistoryInputSchema, alarmHistoryOutputSchema), Handler: e.getAlarmHistory},
	}
}

// alarmTool builds a read-only tool with FastMCP-shaped schemas (optional
// parameters as anyOf [T, null], as agents written for awslabs expect).
func alarmTool(name, description string, in, out aschema) mcp.Tool {
	t := mcp.NewTool(name, mcp.WithDescription(description),
		mcp.WithReadOnlyHintAnnotation(true), mcp.WithDestructiveHintAnnotation(false),
		mcp.WithIdempotentHintAnnotation(true), mcp.WithOpenWorldHintAnnotation(true))
	t.InputSchema.Type = ""
	t.RawInputSchema = mustAlarmJSON(in)
	t.RawOutputSchema = mustAlarmJSON(out)
	return t
}

// allAlarmTypes asks for both kinds: DescribeAlarms and
// DescribeAlarmHistory return metric alarms only without it.
var allAlarmTypes = []cwtypes.AlarmType{cwtypes.AlarmTypeCompositeAlarm, cwtypes.AlarmTypeMetricAlarm}

// maxAlarmRecords is the largest page DescribeAlarms/DescribeAlarmHistory
// serve.
const maxAlarmRecords = 100

// --- get_active_alarms ---

type activeAlarmsResponse struct {
	MetricAlarms    []metricAlarmSummary    `json:"metric_alarms"`
	CompositeAlarms []compositeAlarmSummary `json:"composite_alarms"`
	HasMoreResults  bool                    `json:"has_more_results"`
	Message         *string                 `json:"message"`
}

type metricAlarmSummary struct {
	AlarmName             string              `json:"alarm_name"`
	AlarmDescription      *string             `json:"alarm_description"`
	StateValue            string              `json:"state_value"`
	StateReason           string              `json:"state_reason"`
	MetricName            string              `json:"metric_name"`
	Namespace             string              `json:"namespace"`
	Dimensions            []map[string]string `json:"dimensions"`
	Threshold             alarmFloat          `json:"threshold"`
	ComparisonOperator    string              `json:"comparison_operator"`
	StateUpdatedTimestamp pyTime              `json:"state_updated_timestamp"`
	AlarmType             string              `json:"alarm_type"`
}

type compositeAlarmSummary struct {
	AlarmName             string  `json:"alarm_name"`
	AlarmDescription      *string `json:"alarm_description"`
	StateValue            string  `json:"state_value"`
	StateReason           string  `json:"state_reason"`
	AlarmRule             string  `json:"alarm_rule"`
	StateUpdatedTimestamp pyTime  `json:"state_updated_timestamp"`
	AlarmType             string  `json:"alarm_type"`
}

func (e *Env) getActiveAlarms(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a := ArgsOf(req)
	maxItems, err := a.Int("max_items", 50)
	if err != nil {
		return ErrorResult(ctx, err), nil
	}
	if maxItems < 1 {
		return ErrorResult(ctx, Errorf("max_items must be at least 1")), nil
	}
	region, err := a.Str("region", "")
	if err != nil {
		return ErrorResult(ctx, err), nil
	}
	profile, err := a.Str("profile_name", "")
	if err != nil {
		return ErrorResult(ctx, err), nil
	}
	cl, err := e.CloudWatchClient(ctx, region, profile)
	if err != nil {
		return ErrorResult(ctx, err), nil
	}

	resp := activeAlarmsResponse{MetricAlarms: []metricAlarmSummary{}, CompositeAlarms: []compositeAlarmSummary{}}
	// One item beyond max_items tells whether more exist; pages are sized
	// so no more than that is ever fetched.
	want := maxItems + 1
	fetched, kept := 0, 0
	var token *string
	for fetched < want {
		out, err := cl.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{
			StateValue: cwtypes.StateValueAlarm,
			AlarmTypes: allAlarmTypes,
			MaxRecords: aws.Int32(int32(min(want-fetched, maxAlarmRecords))),
			NextToken:  token,
		})
		if err != nil {
			return ErrorResult(ctx, err), nil
		}
		fetched += len(out.MetricAlarms) + len(out.CompositeAlarms)
		for i := range out.MetricAlarms {
			if kept < maxItems {
				resp.MetricAlarms = append(resp.MetricAlarms, e.metricAlarmSummary(&out.MetricAlarms[i]))
				kept++
			}
		}
		for i := range out.CompositeAlarms {
			if kept < maxItems {
				resp.CompositeAlarms = append(resp.CompositeAlarms, e.compositeAlarmSummary(&out.CompositeAlarms[i]))
				kept++
			}
		}
		token = out.NextToken
		if aws.ToString(token) == "" {
			break
		}
	}
	resp.HasMoreResults = fetched > maxItems
	switch {
	case kept == 0:
		resp.Message = aws.String("No active alarms found")
	case resp.HasMoreResults:
		resp.Message = aws.String(fmt.Sprintf("Showing %d alarms (more available)", kept))
	}
	return JSONResult(resp), nil
}

func (e *Env) metricAlarmSummary(m *cwtypes.MetricAlarm) metricAlarmSummary {
	id := alarmMetricIdentity(m)
	dims := make([]map[string]string, 0, len(id.dimensions))
	for _, d := range id.dimensions {
		dims = append(dims, map[string]string{"Name": aws.ToString(d.Name), "Value": aws.ToString(d.Value)})
	}
	return metricAlarmSummary{
		AlarmName:             aws.ToString(m.AlarmName),
		AlarmDescription:      m.AlarmDescription,
		StateValue:            string(m.StateValue),
		StateReason:           aws.ToString(m.StateReason),
		MetricName:            id.metricName,
		Namespace:             id.namespace,
		Dimensions:            dims,
		Threshold:             alarmFloat(aws.ToFloat64(m.Threshold)),
		ComparisonOperator:    string(m.ComparisonOperator),
		StateUpdatedTimestamp: e.alarmTime(m.StateUpdatedTimestamp),
		AlarmType:             "MetricAlarm",
	}
}

func (e *Env) compositeAlarmSummary(c *cwtypes.CompositeAlarm) compositeAlarmSummary {
	return compositeAlarmSummary{
		AlarmName:             aws.ToString(c.AlarmName),
		AlarmDescription:      c.AlarmDescription,
		StateValue:            string(c.StateValue),
		StateReason:           aws.ToString(c.StateReason),
		AlarmRule:             aws.ToString(c.AlarmRule),
		StateUpdatedTimestamp: e.alarmTime(c.StateUpdatedTimestamp),
		AlarmType:             "CompositeAlarm",
	}
}

// alarmTime is an AWS timestamp, or now (in UTC, where awslabs uses local
// time) when AWS left it out.
func (e *Env) alarmTime(t *time.Time) pyTime {
	if t == nil {
		return pyTime(e.Now().UTC())
	}
	return pyTime(t.UTC())
}

// alarmMetric is what an alarm watches. For metric-math and anomaly
// detection alarms it comes from the query list: awslabs reports them with
// an empty metric, a 300 s period and no statistic.
type alarmMetric struct {
	namespace, metricName, statistic string
	dimensions                       []cwtypes.Dimension
	period                           int32 // 0 = unknown
}

func alarmMetricIdentity(m *cwtypes.MetricAlarm) alarmMetric {
	id := alarmMetric{
		namespace:  aws.ToString(m.Namespace),
		metricName: aws.ToString(m.MetricName),
		statistic:  string(m.Statistic),
		dimensions: m.Dimensions,
		period:     aws.ToInt32(m.Period),
	}
	if id.statistic == "" {
		id.statistic = aws.ToString(m.ExtendedStatistic)
	}
	if len(m.Metrics) == 0 {
		return id
	}
	// A single underlying metric (the usual anomaly detection alarm) names
	// the metric; several (metric math) do not.
	var stats []*cwtypes.MetricStat
	for _, q := range m.Metrics {
		if q.MetricStat != nil && q.MetricStat.Metric != nil {
			stats = append(stats, q.MetricStat)
		}
	}
	if len(stats) == 1 && id.metricName == "" {
		ms := stats[0]
		id.namespace, id.metricName = aws.ToString(ms.Metric.Namespace), aws.ToString(ms.Metric.MetricName)
		id.dimensions = ms.Metric.Dimensions
		if id.statistic == "" {
			id.statistic = aws.ToString(ms.Stat)
		}
	}
	if id.period == 0 {
		for _, q := range m.Metrics {
			if q.ReturnData != nil && !*q.ReturnData {
				continue
			}
			if p := aws.ToInt32(q.Period); p > 0 {
				id.period = p
			} else if q.MetricStat != nil && aws.ToInt32(q.MetricStat.Period) > 0 {
				id.period = aws.ToInt32(q.MetricStat.Period)
			}
			if id.period > 0 {
				break
			}
		}
	}
	if id.period == 0 {
		for _, ms := range stats {
			id.period = max(id.period, aws.ToInt32(ms.Period))
		}
	}
	return id
}

// --- serialisation helpers (pydantic's JSON) ---

// pyTime serialises like pydantic does a UTC datetime: seconds, or
// microseconds when there are any, and a Z.
type pyTime time.Time

func (t pyTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + formatPyTime(time.Time(t)) + `"`), nil
}

func (t *pyTime) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	*t = pyTime(v)
	return err
}

func formatPyTime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()/1000 != 0 {
		return t.Format("2006-01-02T15:04:05.000000Z")
	}
	return t.Format("2006-01-02T15:04:05Z")
}

// alarmFloat serialises like a Python float (80.0, not 80).
type alarmFloat float64

func (f alarmFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e16 {
		return []byte(strconv.FormatFloat(v, 'f', 1, 64)), nil
	}
	return []byte(strconv.FormatFloat(v, 'g', -1, 64)), nil
}

// unionResult is how FastMCP returns a Union-annotated tool result:
// structured content wrapped as {"result": ...}, the text unwrapped.
func unionResult(v any) *mcp.CallToolResult {
	b, err := json.Marshal(v)
	if err != nil {
		return EncodingFailed(err)
	}
	return mcp.NewToolResultStructured(map[string]json.RawMessage{"result": b}, string(b))
}

func mustAlarmJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		// Unreachable for the static schemas; a bare object schema keeps the
		// tool usable rather than failing the whole server.
		return json.RawMessage(`{"type":"object"}`)
	}
	return b
}

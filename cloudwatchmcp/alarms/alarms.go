// Package alarms is the CloudWatch Alarms tool group ("alarms"):
// get_active_alarms and get_alarm_history, with the names, parameters and
// result shapes of awslabs' CloudWatch MCP server 0.1.8 (PARITY.md lists
// the deliberate differences).
//
// Each tool is one file named after it, which registers the tool with
// toolkit from its init func. alarms.go holds what both share, schemas.go
// their schemas.
package alarms

import (
	"encoding/json"
	"math"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

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

// alarmTime is an AWS timestamp, or now (in UTC, where awslabs uses local
// time) when AWS left it out.
func alarmTime(e *toolkit.Env, t *time.Time) pyTime {
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
		return toolkit.EncodingFailed(err)
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

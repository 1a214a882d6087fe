package alarms

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

func init() {
	toolkit.Register(toolkit.Tool{Group: "alarms", Tool: getActiveAlarmsTool, Handler: getActiveAlarms, Result: &toolkit.ResultShape{
		Trims: [][]toolkit.Trim{{toolkit.TrimEnd("metric_alarms"), toolkit.TrimEnd("composite_alarms")}},
		Hint:  toolkit.Hint("Alarms were dropped from the end. Lower max_items to list fewer alarms per call."),
	}})
}

var getActiveAlarmsTool = alarmTool("get_active_alarms", getActiveAlarmsDescription, activeAlarmsInputSchema, activeAlarmsOutputSchema)

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

func getActiveAlarms(ctx context.Context, e *toolkit.Env, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a := toolkit.ArgsOf(req)
	maxItems, err := a.Int("max_items", 50)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	if maxItems < 1 {
		return toolkit.ErrorResult(ctx, toolkit.Errorf("max_items must be at least 1")), nil
	}
	region, err := a.Str("region", "")
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	profile, err := a.Str("profile_name", "")
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
	}
	cl, err := e.CloudWatchClient(ctx, region, profile)
	if err != nil {
		return toolkit.ErrorResult(ctx, err), nil
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
			return toolkit.ErrorResult(ctx, err), nil
		}
		fetched += len(out.MetricAlarms) + len(out.CompositeAlarms)
		for i := range out.MetricAlarms {
			if kept < maxItems {
				resp.MetricAlarms = append(resp.MetricAlarms, toMetricAlarmSummary(e, &out.MetricAlarms[i]))
				kept++
			}
		}
		for i := range out.CompositeAlarms {
			if kept < maxItems {
				resp.CompositeAlarms = append(resp.CompositeAlarms, toCompositeAlarmSummary(e, &out.CompositeAlarms[i]))
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
	return toolkit.JSONResult(resp), nil
}

func toMetricAlarmSummary(e *toolkit.Env, m *cwtypes.MetricAlarm) metricAlarmSummary {
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
		StateUpdatedTimestamp: alarmTime(e, m.StateUpdatedTimestamp),
		AlarmType:             "MetricAlarm",
	}
}

func toCompositeAlarmSummary(e *toolkit.Env, c *cwtypes.CompositeAlarm) compositeAlarmSummary {
	return compositeAlarmSummary{
		AlarmName:             aws.ToString(c.AlarmName),
		AlarmDescription:      c.AlarmDescription,
		StateValue:            string(c.StateValue),
		StateReason:           aws.ToString(c.StateReason),
		AlarmRule:             aws.ToString(c.AlarmRule),
		StateUpdatedTimestamp: alarmTime(e, c.StateUpdatedTimestamp),
		AlarmType:             "CompositeAlarm",
	}
}

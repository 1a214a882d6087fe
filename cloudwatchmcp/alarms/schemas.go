package alarms

// Descriptions and JSON schemas of the alarms tools. The descriptions are
// awslabs' docstrings (Apache-2.0), kept so agents prompted for awslabs
// behave the same; the schemas are what FastMCP derives from the pydantic
// models, which is the contract those agents see.

const getActiveAlarmsDescription = `Gets all CloudWatch Alarms currently in ALARM state.

This tool retrieves all CloudWatch Alarms that are currently in the ALARM state,
including both metric alarms and composite alarms. Results are optimized for
LLM reasoning with summary-level information.

Usage: Use this tool to get an overview of all active alarms in your AWS account
for troubleshooting, monitoring, and operational awareness.

Args:
    max_items: Maximum number of alarms to return (default: 50).
    region: AWS region to query. Defaults to the server's configured region.
    profile_name: AWS CLI Profile Name to use for AWS access (only when the server uses its own credentials).

Returns:
    ActiveAlarmsResponse: Response containing active alarms.

Example:
    result = await get_active_alarms(ctx, max_items=25)
    if isinstance(result, ActiveAlarmsResponse):
        print(f"Found {len(result.metric_alarms + result.composite_alarms)} active alarms")
        for alarm in result.metric_alarms:
            print(f"Metric Alarm: {alarm.alarm_name}")
        for alarm in result.composite_alarms:
            print(f"Composite Alarm: {alarm.alarm_name}")`

const getAlarmHistoryDescription = `Gets the history for a CloudWatch alarm with time range suggestions for investigation.

This tool retrieves the history for a specified CloudWatch alarm, focusing primarily
on state transitions to ALARM state. It also provides suggested time ranges for
investigation based on the alarm's configuration and history.

Usage: Use this tool to understand when an alarm fired and get useful time ranges
for investigating the underlying issue using other CloudWatch tools. The tool is
particularly useful for identifying patterns like alarm flapping (going in and out
of alarm state frequently).

Args:
    region: AWS region to query. Defaults to the server's configured region.
    alarm_name: Name of the alarm to retrieve history for.
    start_time: Optional start time for the history query. Defaults to 24 hours ago.
    end_time: Optional end time for the history query. Defaults to current time.
    history_item_type: Optional type of history items to retrieve. Defaults to 'StateUpdate'.
    max_items: Maximum number of history items to return. Defaults to 50.
    include_component_alarms: For composite alarms, whether to include details about component alarms.
    profile_name: AWS CLI Profile Name to use for AWS access (only when the server uses its own credentials).

Times are ISO 8601 (e.g. '2025-06-18T00:00:00Z'); a time without a zone is UTC.

Returns:
    Union[AlarmHistoryResponse, CompositeAlarmComponentResponse]: Either a response containing
    alarm history with time range suggestions, or component alarm details for composite alarms.

Example:
    result = await get_alarm_history(
        ctx,
        alarm_name="my-cpu-alarm",
        start_time="2025-06-18T00:00:00Z",
        end_time="2025-06-19T00:00:00Z"
    )
    if isinstance(result, AlarmHistoryResponse):
        print(f"Found {len(result.history_items)} history items")
        for suggestion in result.time_range_suggestions:
            print(f"Suggested investigation time range: {suggestion.start_time} to {suggestion.end_time}")`

const (
	alarmRegionParamDesc  = "AWS region to query. Defaults to the server's configured region (else AWS_REGION, else us-east-1)."
	alarmProfileParamDesc = "AWS CLI Profile Name to use for AWS access. Only honoured when the server runs with `credentials default`; otherwise the caller's own credentials are used."
)

type aschema = map[string]any

func aschType(t string) aschema { return aschema{"type": t} }

var (
	aschString   = aschType("string")
	aschDateTime = aschema{"type": "string", "format": "date-time"}
	aschNull     = aschType("null")
)

func aschNullable(s aschema) aschema { return aschema{"anyOf": []any{s, aschNull}} }

func aschArray(items aschema) aschema { return aschema{"type": "array", "items": items} }

func aschObject(props aschema, required ...string) aschema {
	o := aschema{"type": "object", "properties": props}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

// aschParam is an optional FastMCP parameter: anyOf [T, null] with a default.
func aschParam(typ, title, desc string, def any) aschema {
	return aschema{"anyOf": []any{aschType(typ), aschNull}, "default": def, "description": desc, "title": title}
}

var activeAlarmsInputSchema = aschema{
	"type":  "object",
	"title": "get_active_alarmsArguments",
	"properties": aschema{
		"max_items":    aschParam("integer", "Max Items", "Maximum number of alarms to return (default: 50). Large values may cause context window overflow and impact LLM performance.", 50),
		"region":       aschParam("string", "Region", alarmRegionParamDesc, nil),
		"profile_name": aschParam("string", "Profile Name", alarmProfileParamDesc, nil),
	},
}

var alarmHistoryInputSchema = aschema{
	"type":     "object",
	"title":    "get_alarm_historyArguments",
	"required": []string{"alarm_name"},
	"properties": aschema{
		"alarm_name":               aschema{"type": "string", "title": "Alarm Name", "description": "Name of the alarm to retrieve history for"},
		"start_time":               aschParam("string", "Start Time", "The start time for the history query in ISO format (e.g., '2023-01-01T00:00:00Z'). Defaults to 24 hours before end_time. A time without a zone is UTC.", nil),
		"end_time":                 aschParam("string", "End Time", "The end time for the history query in ISO format (e.g., '2023-01-01T00:00:00Z'). Defaults to current time. A time without a zone is UTC.", nil),
		"history_item_type":        aschParam("string", "History Item Type", "Type of history items to retrieve. Possible values: 'ConfigurationUpdate', 'StateUpdate', 'Action'. Defaults to 'StateUpdate'.", nil),
		"max_items":                aschParam("integer", "Max Items", "Maximum number of history items to return (default: 50). Large values may cause context window overflow and impact LLM performance. Adjust time-range to limit responses.", 50),
		"include_component_alarms": aschParam("boolean", "Include Component Alarms", "For composite alarms, whether to include details about component alarms. Defaults to false.", false),
		"region":                   aschParam("string", "Region", alarmRegionParamDesc, nil),
		"profile_name":             aschParam("string", "Profile Name", alarmProfileParamDesc, nil),
	},
}

var (
	metricAlarmSummarySchema = aschObject(aschema{
		"alarm_name":              aschString,
		"alarm_description":       aschNullable(aschString),
		"state_value":             aschString,
		"state_reason":            aschString,
		"metric_name":             aschString,
		"namespace":               aschString,
		"dimensions":              aschArray(aschema{"type": "object", "additionalProperties": aschString}),
		"threshold":               aschType("number"),
		"comparison_operator":     aschString,
		"state_updated_timestamp": aschDateTime,
		"alarm_type":              aschString,
	}, "alarm_name", "state_value", "state_reason", "metric_name", "namespace", "threshold", "comparison_operator", "state_updated_timestamp")

	compositeAlarmSummarySchema = aschObject(aschema{
		"alarm_name":              aschString,
		"alarm_description":       aschNullable(aschString),
		"state_value":             aschString,
		"state_reason":            aschString,
		"alarm_rule":              aschString,
		"state_updated_timestamp": aschDateTime,
		"alarm_type":              aschString,
	}, "alarm_name", "state_value", "state_reason", "alarm_rule", "state_updated_timestamp")

	activeAlarmsOutputSchema = aschObject(aschema{
		"metric_alarms":    aschArray(metricAlarmSummarySchema),
		"composite_alarms": aschArray(compositeAlarmSummarySchema),
		"has_more_results": aschType("boolean"),
		"message":          aschNullable(aschString),
	})

	alarmDetailsSchema = aschObject(aschema{
		"alarm_name":          aschString,
		"alarm_description":   aschNullable(aschString),
		"alarm_type":          aschString,
		"current_state":       aschString,
		"metric_name":         aschNullable(aschString),
		"namespace":           aschNullable(aschString),
		"dimensions":          aschArray(aschema{"type": "object", "additionalProperties": aschString}),
		"threshold":           aschNullable(aschType("number")),
		"comparison_operator": aschNullable(aschString),
		"evaluation_periods":  aschNullable(aschType("integer")),
		"period":              aschNullable(aschType("integer")),
		"statistic":           aschNullable(aschString),
		"alarm_rule":          aschNullable(aschString),
	}, "alarm_name", "alarm_type", "current_state")

	alarmHistoryResponseSchema = aschObject(aschema{
		"alarm_details": alarmDetailsSchema,
		"history_items": aschArray(aschObject(aschema{
			"alarm_name":        aschString,
			"alarm_type":        aschString,
			"timestamp":         aschDateTime,
			"history_item_type": aschString,
			"history_summary":   aschString,
			"old_state":         aschNullable(aschString),
			"new_state":         aschNullable(aschString),
			"state_reason":      aschNullable(aschString),
		}, "alarm_name", "alarm_type", "timestamp", "history_item_type", "history_summary")),
		"time_range_suggestions": aschArray(aschObject(aschema{
			"start_time": aschDateTime,
			"end_time":   aschDateTime,
			"reason":     aschString,
		}, "start_time", "end_time", "reason")),
		"has_more_results": aschType("boolean"),
		"message":          aschNullable(aschString),
	}, "alarm_details")

	compositeComponentResponseSchema = aschObject(aschema{
		"composite_alarm_name": aschString,
		"component_alarms":     aschArray(aschString),
		"alarm_rule":           aschString,
		"component_details":    aschNullable(aschArray(alarmDetailsSchema)),
	}, "composite_alarm_name", "alarm_rule")

	// FastMCP wraps Union results as {"result": ...}.
	alarmHistoryOutputSchema = aschObject(aschema{
		"result": aschema{"anyOf": []any{alarmHistoryResponseSchema, compositeComponentResponseSchema}},
	}, "result")
)

package metrics

import "strings"

// Tool descriptions and JSON schemas of the metrics tools, shaped like the
// schemas FastMCP generates for awslabs 0.1.8 (optional parameters are
// anyOf [T, null] with a default), with the Dimension model inlined so
// clients that don't resolve $ref still see it.

const dimensionSchema = `{"type":"object","title":"Dimension","properties":{` +
	`"name":{"type":"string","title":"Name","description":"Dimension name, e.g. InstanceId"},` +
	`"value":{"type":"string","title":"Value","description":"Dimension value, e.g. i-0123456789abcdef0"}},` +
	`"required":["name","value"]}`

const statisticEnumSchema = `{"type":"string","enum":["AVG","COUNT","MAX","MIN","SUM","Average","Sum","Maximum","Minimum","SampleCount"],"default":"AVG",` +
	`"description":"Statistic to retrieve. AVG/Average, SUM/Sum, MAX/Maximum, MIN/Minimum, COUNT/SampleCount."}`

const regionProfileProps = `"region":{"anyOf":[{"type":"string"},{"type":"null"}],"default":null,"title":"Region",` +
	`"description":"AWS region to query, e.g. us-east-1. Defaults to the server's region."},` +
	`"profile_name":{"anyOf":[{"type":"string"},{"type":"null"}],"default":null,"title":"Profile Name",` +
	`"description":"AWS CLI profile to use. Only honoured when the server runs with ` + "`credentials default`" + `; otherwise your own credentials are used and this must be left empty."}`

const nsMetricRequiredProps = `"namespace":{"type":"string","title":"Namespace","description":"The metric namespace, e.g. AWS/EC2"},` +
	`"metric_name":{"type":"string","title":"Metric Name","description":"The metric name, e.g. CPUUtilization"}`

// metricSelectionProps are the parameters that say which metrics
// get_metric_data reads and get_metric_image draws, up to statistic.
const metricSelectionProps = `"namespace":{"anyOf":[{"type":"string"},{"type":"null"}],"default":null,"title":"Namespace","description":"The metric namespace, e.g. AWS/EC2. Required unless queries is given."},` +
	`"metric_name":{"anyOf":[{"type":"string"},{"type":"null"}],"default":null,"title":"Metric Name","description":"The metric name, e.g. CPUUtilization. Required unless queries is given."},` +
	`"start_time":{"anyOf":[{"type":"string","format":"date-time"},{"type":"null"}],"default":null,"title":"Start Time","description":"ISO 8601 start time (e.g. 2025-01-31T12:00:00Z; a time without a zone is UTC). Defaults to three hours before end_time."},` +
	`"dimensions":{"type":"array","items":` + dimensionSchema + `,"default":[],"title":"Dimensions"},` +
	`"end_time":{"anyOf":[{"type":"string","format":"date-time"},{"type":"null"}],"default":null,"title":"End Time","description":"ISO 8601 end time; defaults to now (UTC)."},` +
	`"statistic":` + statisticEnumSchema + `,`

// metricInsightsProps build a Metrics Insights query (buildSingleQuery).
const metricInsightsProps = `"group_by_dimension":{"anyOf":[{"type":"string"},{"type":"null"}],"default":null,"title":"Group By Dimension","description":"Metrics Insights: dimension to group by. Must be one of schema_dimension_keys."},` +
	`"schema_dimension_keys":{"type":"array","items":{"type":"string"},"default":[],"title":"Schema Dimension Keys","description":"Metrics Insights: the exact dimension keys of the metrics to query (SCHEMA(namespace, keys...))."},` +
	`"limit":{"anyOf":[{"type":"integer"},{"type":"null"}],"default":null,"title":"Limit","description":"Metrics Insights: maximum number of time series (LIMIT, 1-500)."},` +
	`"sort_order":{"anyOf":[{"type":"string","enum":["ASC","DESC"]},{"type":"null"}],"default":null,"title":"Sort Order","description":"Metrics Insights: ASC or DESC; requires order_by_statistic."},` +
	`"order_by_statistic":{"anyOf":[{"type":"string","enum":["AVG","COUNT","MAX","MIN","SUM"]},{"type":"null"}],"default":null,"title":"Order By Statistic","description":"Metrics Insights: function for ORDER BY, e.g. MAX."},`

// metricQueriesProp is the advanced `queries` parameter.
const metricQueriesProp = `"queries":{"anyOf":[{"type":"array","items":{"type":"object","title":"MetricDataQueryInput","properties":{` +
	`"id":{"type":"string","description":"Unique query id starting with a lowercase letter, e.g. m1"},` +
	`"metric_stat":{"anyOf":[{"type":"object","title":"MetricStatInput","properties":{` +
	`"namespace":{"type":"string"},"metric_name":{"type":"string"},"dimensions":{"type":"array","items":` + dimensionSchema + `,"default":[]},` +
	`"statistic":{"type":"string","description":"Average, Sum, Maximum, Minimum, SampleCount, or a percentile such as p50, p90, p99"},` +
	`"period":{"anyOf":[{"type":"integer"},{"type":"null"}],"default":null}},"required":["namespace","metric_name","statistic"]},{"type":"null"}],"default":null},` +
	`"expression":{"anyOf":[{"type":"string"},{"type":"null"}],"default":null,"description":"Metric math (e.g. m1/m2*100) or a Metrics Insights query"},` +
	`"label":{"anyOf":[{"type":"string"},{"type":"null"}],"default":null},` +
	`"return_data":{"type":"boolean","default":true},` +
	`"period":{"anyOf":[{"type":"integer"},{"type":"null"}],"default":null}},"required":["id"]}},{"type":"null"}],"default":null,"title":"Queries",` +
	`"description":"Advanced: several metric_stat/expression queries in one call (percentiles, metric math, multiple metrics). When set, namespace, metric_name, dimensions and statistic are ignored."}`

var getMetricDataInputSchema = `{"type":"object","properties":{` + metricSelectionProps +
	`"target_datapoints":{"type":"integer","default":60,"minimum":1,"title":"Target Datapoints","description":"About how many datapoints to return; the period is max(60, window/target_datapoints) rounded up to a whole minute."},` +
	metricInsightsProps + regionProfileProps + `,` + metricQueriesProp + `,` + chartProp + `}}`

var getMetricDataOutputSchema = `{"type":"object","title":"GetMetricDataResponse","properties":{` +
	`"metricDataResults":{"type":"array","items":{"type":"object","title":"MetricDataResult","properties":{` +
	`"id":{"type":"string"},"label":{"type":"string"},"statusCode":{"type":"string","default":"Complete"},` +
	`"datapoints":{"type":"array","items":{"type":"object","title":"MetricDataPoint","properties":{"timestamp":{"type":"string","format":"date-time"},"value":{"type":["number","null"]}},"required":["timestamp","value"]}},` +
	`"messages":{"type":"array","items":{"type":"object","additionalProperties":true}}},"required":["id","label","datapoints"]}},` +
	`"messages":{"type":"array","items":{"type":"object","additionalProperties":true}}},"required":["metricDataResults"]}`

const getMetricDataDescription = `Retrieve CloudWatch metric data points (GetMetricData).

Three ways to use it:
1. Standard: namespace, metric_name, optional dimensions and statistic. Returns one time series.
2. Metrics Insights: set any of group_by_dimension, schema_dimension_keys, limit, sort_order or order_by_statistic.
   The query is built as SELECT {STAT}("metric") FROM SCHEMA("namespace", "key", ...) WHERE "dim"='value' ...
   GROUP BY "key" ORDER BY {STAT}() DESC LIMIT n. Names and values are quoted and escaped for you.
   Examples:
   - Top 10 EC2 instances by CPU: namespace="AWS/EC2", metric_name="CPUUtilization", schema_dimension_keys=["InstanceId"],
     group_by_dimension="InstanceId", order_by_statistic="MAX", sort_order="DESC", limit=10, statistic="MAX"
   - Lambda errors per function: namespace="AWS/Lambda", metric_name="Errors", schema_dimension_keys=["FunctionName"],
     group_by_dimension="FunctionName", statistic="SUM"
3. Advanced (queries): a list of {id, metric_stat | expression, label, return_data, period} for percentiles (p50/p90/p99),
   metric math (e.g. expression "m1/m2*100") and several metrics at once. Results are paged with NextToken and merged.

Time: start_time/end_time are ISO 8601 (a time without a zone is UTC); the default window is the last 3 hours.
The period is max(60, window/target_datapoints) rounded up to a multiple of 60 seconds.

Returns metricDataResults: [{id, label, statusCode, datapoints: [{timestamp, value}] sorted by time, messages}] and messages.`

const getMetricMetadataInputSchema = `{"type":"object","properties":{` + nsMetricRequiredProps + `},"required":["namespace","metric_name"]}`

const getMetricMetadataOutputSchema = `{"type":"object","title":"get_metric_metadataOutput","properties":{"result":{"anyOf":[` +
	`{"type":"object","title":"MetricMetadata","properties":{"description":{"type":"string"},"recommendedStatistics":{"type":"string"},"unit":{"type":"string"}},"required":["description","recommendedStatistics","unit"]},` +
	`{"type":"null"}]}},"required":["result"]}`

const getMetricMetadataDescription = `Get the description, recommended statistics and unit of a CloudWatch metric from the built-in metric catalog.

Use it to understand what a metric measures and which statistic to use (for example "Average, Maximum") before
querying or alarming on it. No AWS call is made. Returns null when the metric is not in the catalog.`

var analyzeMetricInputSchema = `{"type":"object","properties":{` + nsMetricRequiredProps + `,` +
	`"dimensions":{"type":"array","items":` + dimensionSchema + `,"default":[],"title":"Dimensions","description":"Dimensions that identify the metric, e.g. [{\"name\":\"InstanceId\",\"value\":\"i-0123\"}]"},` +
	regionProfileProps + `,"statistic":` + statisticEnumSchema + `,` + chartProp + `},"required":["namespace","metric_name"]}`

func wrappedObjectOutputSchema(title string) string {
	return `{"type":"object","title":"` + title + `","properties":{"result":{"type":"object","additionalProperties":true,"title":"Result"}},"required":["result"]}`
}

const analyzeMetricDescription = `Analyze the last two weeks of a CloudWatch metric (one-minute resolution) and report its characteristics.

Returns seasonality_seconds (0 = none, 900, 3600, 21600, 86400 or 604800), trend (positive, negative or none; a
linear fit whose slope must be significant at p < 0.05), statistics (min, max, std_deviation,
coefficient_of_variation, median), data_quality (total_points, density_ratio, publishing_period_seconds) and
metric_info. Use it to decide between static thresholds and anomaly detection, or to understand a metric's
normal behaviour before an investigation.`

var getRecommendedAlarmsInputSchema = `{"type":"object","properties":{` + nsMetricRequiredProps + `,` +
	`"dimensions":{"type":"array","items":` + dimensionSchema + `,"default":[],"title":"Dimensions","description":"Dimensions of the metric; recommendations that need a dimension you don't give are left out."},` +
	regionProfileProps + `,"statistic":` + statisticEnumSchema + `},"required":["namespace","metric_name"]}`

var getRecommendedAlarmsOutputSchema = `{"type":"object","title":"AlarmRecommendationResult","properties":{` +
	`"recommendations":{"type":"array","items":{"type":"object","title":"AlarmRecommendation","properties":{` +
	`"alarmDescription":{"type":"string"},` +
	`"threshold":{"type":"object","properties":{"justification":{"type":"string"},"staticValue":{"type":"number"},"sensitivity":{"type":"number"}},"required":["justification"]},` +
	`"period":{"type":"integer"},"comparisonOperator":{"type":"string"},"statistic":{"type":"string"},` +
	`"evaluationPeriods":{"type":"integer"},"datapointsToAlarm":{"type":"integer"},"treatMissingData":{"type":"string"},` +
	`"dimensions":{"type":"array","items":{"type":"object","properties":{"name":{"type":"string"},"value":{"type":["string","null"]}},"required":["name"]}},` +
	`"intent":{"type":"string"},` +
	`"cloudformation_template":{"type":"object","additionalProperties":true}},` +
	`"required":["alarmDescription","threshold","period","comparisonOperator","statistic","evaluationPeriods","datapointsToAlarm","treatMissingData","dimensions","intent"]}},` +
	`"message":{"type":"string"}},"required":["recommendations","message"]}`

var getRecommendedAlarmsDescription = strings.TrimSpace(`
Get recommended CloudWatch alarm configurations for a metric.

Recommendations come from the metric catalog (the alarms AWS documents publicly), filtered by the dimensions you
give: a recommendation that needs a dimension (or a specific dimension value) you don't give is left out. When the
catalog has none, the metric's last two weeks are analyzed (as analyze_metric does, with the statistic you give);
if it has a seasonality, one anomaly-detection alarm is recommended, with a CloudFormation template.

Statistic guidance for alarms: use Average for utilisation and latency that should stay within a band, Maximum to
catch short spikes, Sum for counts (errors, requests), SampleCount for "is anything reporting", and percentiles
(p90/p99) for tail latency. Each recommendation carries its threshold and a justification.`)

package promql

// The PromQL tool descriptions. Agents lean on them to write valid queries
// against CloudWatch's OTLP label layout, so they carry the label mapping,
// the histogram functions for enriched vended metrics and the enrichment
// prerequisite.

// promqlLabelGuide explains how OTLP data shows up as PromQL labels.
const promqlLabelGuide = `How CloudWatch turns OpenTelemetry data into PromQL labels:
- @resource.<attribute>: resource attributes of the sender, e.g. "@resource.service.name"="checkout".
- @instrumentation.<field>: the instrumentation scope. "@instrumentation.@name" says who produced the
  metric; enriched vended metrics use "cloudwatch.aws/<service>", e.g. "cloudwatch.aws/ec2".
- @datapoint.<attribute>, or simply the bare attribute name: datapoint attributes. For vended AWS
  metrics these are the classic CloudWatch dimensions, e.g. InstanceId="i-0123456789abcdef0".
- @aws.account_id and @aws.region: the account and region the data belongs to.
- @aws.tag.<Key>: the AWS resource tags of the emitting resource, e.g. "@aws.tag.Environment"="prod".
A scope's own fields take a second @ (@instrumentation.@name, @resource.@schema_url); attributes take one.
Names with dots or @ must be quoted (Prometheus 3 UTF-8 syntax), and a dotted metric name goes inside
the braces as a quoted string: {"http.server.active_requests", "@resource.service.name"="checkout"}.`

// promqlEnrichedGuide covers AWS vended metrics exposed through PromQL.
const promqlEnrichedGuide = `Vended AWS metrics (EC2 CPUUtilization, Lambda Invocations, ...) appear in PromQL only once OTel
enrichment is switched on for the account and region (` + "`aws cloudwatch start-otel-enrichment`" + `, which
needs resource tags on telemetry enabled first). If such a query comes back empty, check that before
anything else. Enriched metrics are stored as histograms, so read them through histogram functions:
- average: histogram_avg(CPUUtilization{"@instrumentation.@name"="cloudwatch.aws/ec2"})
- total:   histogram_sum(Invocations{FunctionName="orders-api"})
- by tag:  sum by ("@aws.tag.Team") (histogram_sum(Errors{"@instrumentation.@name"="cloudwatch.aws/lambda"}))`

const promqlWhenToUse = `Use the PromQL tools when the user writes PromQL, talks about metrics sent over OTLP or their labels
(@resource.*, @instrumentation.*, @aws.*), asks about vended AWS metrics with OpenTelemetry labels, or
wants to filter or group by AWS resource tags (@aws.tag.*). For classic namespace/dimension metrics
(AWS/EC2, AWS/Lambda, ...) or Metrics Insights SQL, use get_metric_data instead.`

const promqlQueryDescription = `Evaluate a PromQL expression in CloudWatch at a single instant (now, unless time is given).

Returns {resultType, result}. For an instant vector, result lists {"metric": {labels}, "value":
[unix_seconds, "value"]}; a scalar or string expression returns one [unix_seconds, "value"] pair. To
follow a value over a window, use execute_promql_range_query.

` + promqlWhenToUse + `

` + promqlLabelGuide + `

` + promqlEnrichedGuide + `

CloudWatch limits: at most 500 series per answer, a 7-day window including any lookback or range
selector, 20 seconds of evaluation.

Examples:
- {"http.server.active_requests", "@resource.service.name"="checkout"}
- sum by ("@resource.service.name") (rate({"http.server.request.count"}[5m]))
- topk(5, histogram_avg(CPUUtilization{"@aws.tag.Environment"="prod"}))`

const promqlRangeDescription = `Evaluate a PromQL expression in CloudWatch at every step between start and end, for trends and charts.

Returns {resultType: "matrix", result: [{"metric": {labels}, "values": [[unix_seconds, "value"], ...]}]}.
start, end and step are required; times are RFC 3339 (no zone = UTC) or unix seconds, step a duration
such as "60s", "5m" or "1h". Pick a step that keeps the number of points per series modest (the range
divided by the step), e.g. "5m" for a day.

` + promqlWhenToUse + `

` + promqlLabelGuide + `

` + promqlEnrichedGuide + `

CloudWatch limits: at most 500 series, a 7-day window including lookback, 20 seconds of evaluation.

Example: query avg_over_time({"http.server.active_requests", "@resource.service.name"="checkout"}[5m]),
start 2025-01-31T00:00:00Z, end 2025-01-31T06:00:00Z, step 5m.`

const promqlLabelValuesDescription = `List the values one PromQL label takes in CloudWatch, sorted. The quickest way to discover what exists.

Useful label names:
- "__name__": every metric name
- "@resource.service.name": every service sending OTLP metrics
- "@instrumentation.@name": every producer, e.g. cloudwatch.aws/ec2 for enriched EC2 metrics
- "@aws.tag.Environment": every value of a resource tag
Narrow the answer with match selectors (a series counts if it matches any) and a start/end window.
Label names with dots, @ or other special characters are sent URL-encoded, so pass them as they are.

` + promqlLabelGuide + `

CloudWatch returns at most 10,000 values per request.`

const promqlSeriesDescription = `Find the series in CloudWatch that match one or more PromQL selectors and return the full label set of each.

Use it to see which series exist for a metric and how they are labelled before writing a query. Each
selector is sent as its own match[] parameter; a series is returned if it matches any of them.
Example: match ["{\"@instrumentation.@name\"=\"cloudwatch.aws/ec2\", \"@aws.tag.Team\"=\"payments\"}"].

` + promqlLabelGuide + `

` + promqlEnrichedGuide + `

CloudWatch returns at most 10,000 series per request.`

const promqlLabelsDescription = `List the PromQL label names present in CloudWatch, sorted, optionally only those of series matching
the given selectors within a start/end window.

Typical names: __name__ (the metric name); @resource.service.name, @resource.cloud.region and other
OTel resource attributes; @instrumentation.@name (the producer, e.g. cloudwatch.aws/lambda);
@aws.account_id and @aws.region; @aws.tag.<Key> for each resource tag; and bare dimension names such
as InstanceId or FunctionName, which are datapoint attributes.

` + promqlLabelGuide + `

CloudWatch returns at most 10,000 label names per request.`

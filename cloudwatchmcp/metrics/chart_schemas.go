package metrics

import "strconv"

// Schemas and description of get_metric_image and of the `chart` option of
// get_metric_data and analyze_metric.

const chartProp = `"chart":{"type":"boolean","default":false,"title":"Chart",` +
	`"description":"Also return a PNG chart (MCP image content, drawn by CloudWatch GetMetricWidgetImage) of what was queried. Off by default: an image adds tens of kilobytes."}`

var chartSizeProps = `"width":{"type":"integer","default":` + strconv.Itoa(defaultChartWidth) + `,"minimum":` + strconv.Itoa(minChartSide) + `,"maximum":` + strconv.Itoa(maxChartSide) + `,"title":"Width","description":"Image width in pixels."},` +
	`"height":{"type":"integer","default":` + strconv.Itoa(defaultChartHeight) + `,"minimum":` + strconv.Itoa(minChartSide) + `,"maximum":` + strconv.Itoa(maxChartSide) + `,"title":"Height","description":"Image height in pixels."}`

var getMetricImageInputSchema = `{"type":"object","properties":{` + metricSelectionProps + metricInsightsProps + metricQueriesProp + `,` +
	`"expression":{"anyOf":[{"type":"string"},{"type":"null"}],"default":null,"title":"Expression","description":"One expression to draw instead of a metric: a Metrics Insights query (SELECT AVG(CPUUtilization) FROM SCHEMA(\"AWS/EC2\", InstanceId) GROUP BY InstanceId) or a SEARCH. Metric math over several metrics goes in queries."},` +
	`"label":{"anyOf":[{"type":"string"},{"type":"null"}],"default":null,"title":"Label","description":"Legend label of the metric or expression."},` +
	`"period":{"anyOf":[{"type":"integer","minimum":1},{"type":"null"}],"default":null,"title":"Period","description":"Seconds per datapoint (1, 5, 10, 30 or a multiple of 60). Defaults to the smallest of 60, 300, 900, 3600, 21600, 86400 that draws at most about 500 points."},` +
	`"title":{"anyOf":[{"type":"string"},{"type":"null"}],"default":null,"title":"Title","description":"Chart title."},` +
	chartSizeProps + `,` +
	`"annotations":{"type":"array","maxItems":` + strconv.Itoa(maxAnnotations) + `,"default":[],"title":"Annotations","description":"Horizontal lines, e.g. an alarm threshold: [{\"value\": 80, \"label\": \"CPU alarm\"}].",` +
	`"items":{"type":"object","title":"HorizontalAnnotation","properties":{"value":{"type":"number"},"label":{"type":"string"},"color":{"type":"string","description":"Hex colour, e.g. #d62728"}},"required":["value"]}},` +
	`"widget":{"anyOf":[{"type":"object","additionalProperties":true},{"type":"null"}],"default":null,"title":"Widget","description":"A complete metric widget definition (the CloudWatch console's graph Source JSON, or the widget a previous call returned, adjusted). When set, it is drawn as given and the other chart parameters must be left out."},` +
	regionProfileProps + `}}`

const getMetricImageOutputSchema = `{"type":"object","title":"MetricImage","properties":{` +
	`"description":{"type":"string","description":"What the chart shows."},` +
	`"widget":{"type":"object","additionalProperties":true,"description":"The metric widget definition drawn (GetMetricWidgetImage MetricWidget); adjust it and pass it back as widget to redraw."},` +
	`"image":{"type":"object","properties":{"mimeType":{"type":"string"},"width":{"type":"integer"},"height":{"type":"integer"},"bytes":{"type":"integer"}},"required":["mimeType","width","height","bytes"]}},` +
	`"required":["description","widget","image"]}`

const getMetricImageDescription = `Draw a CloudWatch metric chart (GetMetricWidgetImage) and return it as a PNG image.

CloudWatch renders the same graph the console shows. What to draw:
1. One metric: namespace, metric_name, optional dimensions and statistic (or a Metrics Insights query built from
   group_by_dimension, schema_dimension_keys, limit, sort_order, order_by_statistic, as in get_metric_data).
2. expression: one Metrics Insights query or SEARCH expression.
3. queries: several metrics, percentiles and metric math, as in get_metric_data; return_data=false hides a line that
   only feeds an expression.
4. widget: a full widget definition (the console's graph Source JSON, or the widget a previous call returned).

Time: start_time/end_time (ISO 8601; default the last 3 hours); period in seconds. annotations draws horizontal
lines (an alarm threshold, an SLO). width/height are 100-2000 px (default 600x300); a smaller image keeps the
result small.

Returns the image (image/png), a text line saying what it shows, and in structured content the widget definition
used, so you can adjust it and call again with widget.`

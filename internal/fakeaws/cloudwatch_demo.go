package fakeaws

import (
	"math"
	"time"
)

// Demo metric series: two weeks and more of generated data with a daily
// rhythm, so GetMetricData, analyze_metric and GetMetricWidgetImage charts
// have something to show at any time range.

// DemoLoadBalancer is the demo's load balancer dimension value (AWS/ApplicationELB).
const DemoLoadBalancer = "app/checkout-web/50dc6c495c0c9188"

// SeedDemo adds the demo's series: EC2 CPU with a daily rhythm, Lambda
// errors, an SQS queue whose oldest message keeps ageing, and the
// checkout-web load balancer's response time with a bump during the
// demo's error spike.
func (m *Metrics) SeedDemo() *Metrics {
	m.PutGenerated("AWS/EC2", "CPUUtilization", map[string]string{"InstanceId": "i-0abc123def4567890"}, 5*time.Minute, func(t time.Time) (float64, bool) {
		h := float64(t.Hour()) + float64(t.Minute())/60
		return 35 + 25*math.Sin(2*math.Pi*(h-9)/24) + float64(t.Minute()%7), true
	})
	m.PutGenerated("AWS/Lambda", "Errors", map[string]string{"FunctionName": "checkout-api"}, time.Minute, func(t time.Time) (float64, bool) {
		return float64((t.Minute()*7 + t.Hour()) % 3), true
	})
	m.PutGenerated("AWS/SQS", "ApproximateAgeOfOldestMessage", map[string]string{"QueueName": "orders"}, time.Minute, func(t time.Time) (float64, bool) {
		return 30 + float64(t.Unix()%86400)/300, true
	})
	m.PutGenerated("AWS/ApplicationELB", "TargetResponseTime", map[string]string{"LoadBalancer": DemoLoadBalancer}, time.Minute, func(t time.Time) (float64, bool) {
		h := float64(t.Hour()) + float64(t.Minute())/60
		v := 0.12 + 0.05*math.Sin(2*math.Pi*(h-14)/24) + float64(t.Minute()%5)*0.004
		if t.Minute()%45 >= 40 { // the recurring slow spell
			v += 0.9
		}
		return v, true
	})
	return m
}

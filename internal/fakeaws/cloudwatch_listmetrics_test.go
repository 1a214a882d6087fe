package fakeaws

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// ListMetrics through the real SDK client: filters, 500-metric pages and
// namespace owners.
func TestListMetricsPagesFiltersAndOwners(t *testing.T) {
	f, cw := metricsClient(t)
	bob := cloudwatch.NewFromConfig(TestConfig(f, StaticCredentials(f.IssueCredentials("bob", time.Now().Add(time.Hour)))))
	m := MetricsOf(f)
	pt := []MetricPoint{{T: metricsT0, V: 1}}
	for i := range 520 {
		m.PutSeries("AWS/EC2", "CPUUtilization", map[string]string{"InstanceId": fmt.Sprintf("i-%03d", i)}, pt)
	}
	m.PutSeries("Shop/Orders", "Placed", map[string]string{"Region": "eu"}, pt)
	m.SetNamespaceOwners("Shop/Orders", "bob")
	ctx := context.Background()

	var seen []string
	pages := 0
	p := cloudwatch.NewListMetricsPaginator(cw, &cloudwatch.ListMetricsInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, m := range out.Metrics {
			if ns := aws.ToString(m.Namespace); !slices.Contains(seen, ns) {
				seen = append(seen, ns)
			}
		}
	}
	if pages != 2 || !slices.Equal(seen, []string{"AWS/EC2"}) {
		t.Fatalf("alice: %d pages, namespaces %v", pages, seen)
	}
	out, err := bob.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String("Shop/Orders"),
		Dimensions: []types.DimensionFilter{{Name: aws.String("Region")}}})
	if err != nil || len(out.Metrics) != 1 || aws.ToString(out.Metrics[0].MetricName) != "Placed" {
		t.Fatalf("bob: %v %+v", err, out)
	}
	out, err = cw.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String("AWS/EC2"),
		Dimensions: []types.DimensionFilter{{Name: aws.String("InstanceId"), Value: aws.String("i-007")}}})
	if err != nil || len(out.Metrics) != 1 || out.NextToken != nil {
		t.Fatalf("dimension filter: %v %+v", err, out)
	}
	if _, err := cw.ListMetrics(ctx, &cloudwatch.ListMetricsInput{NextToken: aws.String("garbage")}); err == nil {
		t.Fatal("a garbage NextToken was accepted")
	}
}

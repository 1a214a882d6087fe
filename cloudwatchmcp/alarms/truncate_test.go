package alarms

import (
	"fmt"
	"testing"
	"time"

	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/mcptest"
)

func TestTruncateAlarms(t *testing.T) {
	te, al := newAlarmEnv(t)
	for i := range 80 {
		mustSeed(t, al.AddMetricAlarm(fakeaws.MetricAlarm{Name: fmt.Sprintf("queue-depth-%03d", i), Namespace: "AWS/SQS",
			MetricName: "ApproximateNumberOfMessagesVisible", Threshold: 1000, State: "ALARM"}))
	}
	mustSeed(t, al.AddMetricAlarm(fakeaws.MetricAlarm{Name: "noisy", Namespace: "AWS/Lambda", MetricName: "Throttles", Period: 60, State: "OK"}))
	mustSeed(t, al.Flap("noisy", alarmTestNow.Add(-10*time.Hour), 2*time.Minute, 60))

	v := mcptest.RunCapCase(t, te, 4096, mcptest.CapCase{Tool: "get_active_alarms", Args: map[string]any{"max_items": 500}})
	if v["has_more_results"] != true {
		t.Fatalf("has_more_results must turn true when alarms were dropped: %v", v["has_more_results"])
	}
	mcptest.RunCapCase(t, te, 4096, mcptest.CapCase{Tool: "get_alarm_history", Args: map[string]any{
		"alarm_name": "noisy", "start_time": alarmTestNow.Add(-11 * time.Hour).Format(time.RFC3339), "max_items": 200,
	}})
}

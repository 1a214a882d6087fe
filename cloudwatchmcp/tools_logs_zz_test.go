package cloudwatchmcp

import (
	"context"
	"testing"
	"io"
	"strings"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/mcpedge/caddy-cloudwatch-mcp/internal/fakeaws"
)

func TestLogsZZRepro(t *testing.T) {
	te, _ := benchLogsEnv(t)
	te.fake.Handle("logs", "Ping", func(r *fakeaws.Request) (any, error) { return map[string]any{"x": strings.Repeat("y", 9000)}, nil })
	hc := &http.Client{}
	for i := 0; i < 3000; i++ {
		req, _ := http.NewRequest("POST", te.fake.URL, strings.NewReader("{}"))
		req.Header.Set("X-Amz-Target", "Logs_20140328.Ping")
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		resp, err := hc.Do(req)
		if err != nil { t.Fatal(err) }
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil { t.Fatalf("raw iteration %d: %v", i, err) }
	}
	cfg := te.clients.config("us-east-1", fakeaws.StaticCredentials(te.alice))
	cfg.HTTPClient = &http.Client{}
	cl := cloudwatchlogs.NewFromConfig(cfg)
	for i := 0; i < 3000; i++ {
		if _, err := cl.DescribeLogGroups(context.Background(), &cloudwatchlogs.DescribeLogGroupsInput{Limit: aws.Int32(int32(1 + i%25))}); err != nil {
			t.Fatalf("dlg iteration %d (limit %d): %v", i, 1+i%25, err)
		}
	}
	_ = aws.String
	_ = time.Now
}

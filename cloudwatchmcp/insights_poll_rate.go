package cloudwatchmcp

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// InsightsPollRate is the Logs Insights polling budget of one AWS account
// and region: every GetQueryResults and DescribeQueries this handler sends
// while waiting on Insights queries, for every caller whose credentials act
// in that account, shares it. Waits beyond it slow down; they never fail.
// AWS throttling lowers it for a while (AIMD).
type InsightsPollRate struct {
	// Requests per second. Default: 2.
	PerSecond float64 `json:"per_second,omitempty"`
	// Requests that may go at once after a quiet spell, so one person's
	// short query gets its early polls. Default: 10.
	Burst int `json:"burst,omitempty"`
}

// parseInsightsPollRate reads `insights_poll_rate <n>/s [burst <b>]`.
func parseInsightsPollRate(d *caddyfile.Dispenser) (*InsightsPollRate, error) {
	args := d.RemainingArgs()
	if len(args) != 1 && len(args) != 3 {
		return nil, d.ArgErr()
	}
	num, ok := strings.CutSuffix(args[0], "/s")
	n, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || n <= 0 || n > 1000 {
		return nil, d.Errf("insights_poll_rate: %q is not a rate like 2/s (requests per second, more than 0, at most 1000)", args[0])
	}
	r := &InsightsPollRate{PerSecond: n}
	if len(args) == 3 {
		if args[1] != "burst" {
			return nil, d.Errf("insights_poll_rate: expected burst <n> after the rate, got %q", args[1])
		}
		b, err := strconv.Atoi(args[2])
		if err != nil || b < 1 || b > 1000 {
			return nil, d.Errf("insights_poll_rate: burst %q must be a whole number from 1 to 1000", args[2])
		}
		r.Burst = b
	}
	return r, nil
}

func (r *InsightsPollRate) validate() error {
	if r == nil {
		return nil
	}
	if r.PerSecond < 0 || r.PerSecond > 1000 || r.Burst < 0 || r.Burst > 1000 {
		return fmt.Errorf("insights_poll_rate: per_second must be in (0, 1000] and burst in [1, 1000]")
	}
	return nil
}

// values returns the rate and burst for toolkit.Env (zero: defaults).
func (r *InsightsPollRate) values() (float64, int) {
	if r == nil {
		return 0, 0
	}
	return r.PerSecond, r.Burst
}

package main

import (
	"fmt"
	"strings"
)

// scaleOnPaper is the capacity section of BENCHMARKS.md. The reasoning is
// fixed text; the figures come from this run's results, so the section is
// regenerated (never hand-edited) with the tables above it.
func scaleOnPaper(results []*result) string {
	byID := map[string]*result{}
	for _, r := range results {
		if _, dup := byID[r.id]; !dup {
			byID[r.id] = r
		}
	}
	subj := func(id string) string {
		r := byID[id]
		if r == nil {
			return "(not measured in this run)"
		}
		_, m, _ := mmm(r.subject)
		return fmt.Sprintf("%s %s", num(m), r.unit)
	}
	perEntry := func(id string, sessions int) string {
		r := byID[id]
		if r == nil || len(r.base) == 0 || sessions == 0 {
			return "(not measured in this run)"
		}
		d := make([]float64, len(r.subject))
		for i := range d {
			d[i] = r.subject[i] - r.base[i]
		}
		_, f, _ := mmm(d)
		return fmt.Sprintf("%.1f KB", f*1024/float64(sessions))
	}
	sessions := 0
	if r := byID["P6a"]; r != nil {
		fmt.Sscanf(strings.TrimPrefix(r.measure, "RSS added by "), "%d", &sessions)
	}
	var b strings.Builder
	b.WriteString("## Scale on paper\n\n")
	b.WriteString("### One instance\n\n")
	fmt.Fprintf(&b, "On this run's machine, with the load generator and the fakes on the same cores, one Caddy sustained "+
		"%s for authenticated requests with one token (P1 subject), %s with 1,000 users and vended credentials (P7 subject), "+
		"%s for MCP `tools/list` through authentication and vending (P2 subject), and added %s (P4) to a CloudWatch tool call. "+
		"On the cached path `cognito_auth` costs a few microseconds of CPU per request (`go test ./cognitoauth -bench ServeHTTPCached`), "+
		"so an instance's ceiling is set by Caddy's HTTP handling and by the AWS calls the tools make, not by authentication. "+
		"Throughput grows with cores; memory grows with users and sessions (below).\n\n",
		subj("P1"), subj("P7"), subj("P2"), func() string {
			if r := byID["P4"]; r != nil {
				_, m, _ := mmm(r.figures())
				return fmt.Sprintf("%.2f ms p50", m)
			}
			return "(not measured in this run)"
		}())
	b.WriteString("### Scaling out\n\n")
	b.WriteString("- `cloudwatch_mcp { stateless }` issues no `Mcp-Session-Id`: any instance answers any request, so instances sit behind any load balancer " +
		"(Caddy's `reverse_proxy` with `lb_policy round_robin` in P8) with no sticky sessions and no shared session store. " +
		"What stateless mode gives up is the standalone GET stream (server-initiated notifications), which needs a session.\n")
	fmt.Fprintf(&b, "- With `cloudwatch_mcp { redis <url> }`, stateful sessions need no sticky routing either: the registry and the resumable events live in Redis "+
		"(one script run per session request), at %s.\n", func() string {
		if r := byID["P10"]; r != nil {
			_, m, _ := mmm(r.figures())
			return fmt.Sprintf("%.2f ms added to tools/call p50 (P10)", m)
		}
		return "a cost P10 measures (not measured in this run)"
	}())
	b.WriteString("- Everything else an instance keeps is a cache that it can rebuild: signing keys (fetched from the issuer), verified tokens, vended credentials, SDK clients.\n")
	b.WriteString("- Certificates: point every instance at the same Caddy storage (`storage` global option: a shared file system, or a storage module such as Redis, Consul or S3) " +
		"so ACME certificates are obtained once and shared, with Caddy's storage locks coordinating renewals.\n")
	fmt.Fprintf(&b, "- `rate_limit` is per instance, so N instances allow N × the limit, unless `cognito_auth { redis <url> }` is set: then each user has one exact budget "+
		"across all instances (GCRA in one Lua script on Redis's clock; concurrent requests are decided together, one round trip per batch) at %s, "+
		"and while Redis cannot be reached each instance falls back to its own buckets.\n", func() string {
		if r := byID["P9"]; r != nil {
			_, m, _ := mmm(r.figures())
			return fmt.Sprintf("%.2f of the per-instance limiter's throughput (P9)", m)
		}
		return "a cost P9 measures (not measured in this run)"
	}())
	b.WriteString("- Each instance vends its own credentials: with `lb_policy round_robin`, a user seen by k instances costs up to k exchanges per credential lifetime. " +
		"`lb_policy header Authorization` (hash of the token) keeps a user on one instance without sessions and restores one exchange per user.\n\n")
	b.WriteString("### What grows with users\n\n")
	fmt.Fprintf(&b, "| state | bound (config) | cost per entry (this run) |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| verified-token cache | `cache_size`, default 10,000 tokens; an entry ends at the token's `exp` or after `cache_idle` without use (default 30m) | with the credential cache and a session: %s per user, RSS as it stands (P6a) |\n", perEntry("P6a", sessions))
	b.WriteString("| credential cache | `credentials_cache_size`, default 10,000 identities; an entry ends at the credentials' expiry or after `cache_idle` without use | (included above) |\n")
	fmt.Fprintf(&b, "| MCP sessions | 10,000 per instance, 64 per identity; reclaimed after `session_idle_timeout` (default 30m); an idle session is a registry entry only (mcp-go's per-session object is released after initialize) | %s per idle session, RSS as it stands (P6c) |\n", perEntry("P6c", sessions))
	b.WriteString("| SDK clients | 1,024 (identity × region × service), least recently used dropped | a few KB |\n\n")
	b.WriteString("All four are LRU-bounded, so memory is bounded by configuration, not by traffic (P6a measures the defaults' worst case: every session a different user), " +
		"and the first three also let go of users who went idle, so memory follows recent users, not everyone seen within a token's lifetime (P6b). " +
		"The token and credential caches are split into 16 shards above 1,024 entries, so many users do not queue on one lock.\n\n")
	b.WriteString("### The AWS limits that bind first\n\n")
	b.WriteString("AWS request quotas are per account and Region, shared by every instance and every other workload in the account; check the current values in Service Quotas.\n\n")
	b.WriteString("- **Credential exchanges (STS `AssumeRoleWithWebIdentity`/`AssumeRole`, Cognito Identity `GetId`/`GetCredentialsForIdentity`/`GetOpenIdTokenForDeveloperIdentity`, " +
		"Identity Center `CreateTokenWithIAM`/`GetRoleCredentials`).** The per-identity cache makes exactly one exchange per user when credentials are first needed, " +
		"and exactly one per renewal (P3: also under 500 concurrent requests, before and after expiry). A user therefore costs one exchange per " +
		"`session_duration − refresh_before` (55 min at the defaults; identity pools and Identity Center fix the lifetime at 1 h), and the steady exchange rate of an instance is\n\n" +
		"  exchanges/s ≤ active users ÷ (credential lifetime − refresh_before)\n\n" +
		"  e.g. 10,000 active users ÷ 3,300 s ≈ 3 exchanges/s. An exchange is one call for `role_arn` and `assume_role`, two for identity pools " +
		"(`GetId` or `GetOpenIdTokenForDeveloperIdentity`, then `GetCredentialsForIdentity`; renewals of ID-token users skip `GetId`) and two for Identity Center. " +
		"The rate that binds is the cold start: after a deploy or restart every active user exchanges again within minutes, at the rate users come back. " +
		"Cognito Identity's default rate quotas are low (GetId: 25 requests/s by default, adjustable), so a fleet restart of 10,000 users arriving within one minute (≈ 170/s) " +
		"would be throttled there first; the SDK retries throttling within `exchange_timeout` and the request gets 503 with Retry-After beyond it. " +
		"Roll restarts and keep credential lifetimes long (`session_duration` up to the role's maximum) to keep the rate down.\n")
	b.WriteString("- **Logs Insights.** Concurrent queries are an account-wide quota (30 per account and Region in the StartQuery reference), shared by all users and dashboards; " +
		"no cache can help, since every query is a user's own. `StartQuery` beyond it fails with `LimitExceededException`, which the tools report as a tool error. " +
		"`GetQueryResults` and `DescribeQueries` have low TPS quotas too: each wait polls at 0.4, 0.8, 1.6, 2.4 s, then every second, at most 1.25 requests per query-second + 2 (P13); " +
		"while several waits of one identity and region run, they share one `DescribeQueries` per second. All polling of one account and region on an instance shares a budget " +
		"(`insights_poll_rate`, default 2/s burst 10), so N users waiting never poll faster than it; AWS throttling halves it and answered requests win it back (AIMD), " +
		"and a throttled poll is waited out, never failed. With n instances the account sees up to n budgets: set `insights_poll_rate` to the account's share divided by n.\n")
	b.WriteString("- **CloudWatch and Logs read APIs** (DescribeLogGroups, GetMetricData, …) have their own per-account TPS quotas; every call is the user's own and signed with their credentials, " +
		"so they scale with what agents ask for, not with the edge.\n")
	return b.String()
}

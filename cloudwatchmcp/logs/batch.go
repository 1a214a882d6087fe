package logs

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/smithy-go"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

// execute_cwl_insights_batch runs one Insights query over many log groups
// and regions: 50 groups per StartQuery, paced and bounded per (identity,
// region) by batchPacer, one retry on retryable errors, and a recursive
// split of the time range when a chunk's output was truncated at 10,000 rows
// or it timed out. Counters and warnings mirror awslabs 0.1.8.

const (
	batchGroupsPerQuery = 50
	batchMaxOutput      = 10000
	batchMaxAttempts    = 2
	batchMaxSplitDepth  = 4
	batchRetryBackoff   = 2 * time.Second
	batchLargeResult    = 100000

	// batchMaxChunks bounds the StartQuery chunks (regions × 50-group
	// chunks) of one call, e.g. 2 chunks in each of 50 regions or 5,000
	// log groups in one. A larger call is refused before any query starts.
	batchMaxChunks = 100
)

type batchSummary struct {
	TotalLogGroups       int      `json:"total_log_groups"`
	TotalRegions         int      `json:"total_regions"`
	TotalChunks          int      `json:"total_chunks"`
	SuccessfulChunks     int      `json:"successful_chunks"`
	RetriedChunks        int      `json:"retried_chunks"`
	ReChunked            int      `json:"re_chunked"`
	FailedChunks         int      `json:"failed_chunks"`
	TotalRecordsReturned int      `json:"total_records_returned"`
	Warnings             []string `json:"warnings"`
}

type batchResult struct {
	Summary batchSummary     `json:"summary"`
	Results []map[string]any `json:"results"`
}

// batchRequest is a validated call.
type batchRequest struct {
	groups       []string
	regions      []string
	start, end   int64 // epoch seconds
	query        string
	limit        int // 0 = none
	maxTimeout   time.Duration
	accountLabel string
	profile      string
}

// batchRun is the state of one call.
type batchRun struct {
	e     *toolkit.Env
	req   batchRequest
	pacer *batchPacer
	idKey string
	// splitOnMatched: recordsMatched means truncated output only when
	// nothing else caps the rows (see outputLimitHit).
	splitOnMatched bool

	mu       sync.Mutex
	sum      batchSummary
	progress func(done int)
	done     int
}

// batchChunk is one StartQuery's worth of work in one region.
type batchChunk struct {
	region string
	groups []string
	gate   *batchGate
	gkey   string
	cl     *cloudwatchlogs.Client
}

func (b *batchRun) warn(format string, args ...any) {
	b.mu.Lock()
	b.sum.Warnings = append(b.sum.Warnings, fmt.Sprintf(format, args...))
	b.mu.Unlock()
}

func (b *batchRun) count(f func(s *batchSummary)) {
	b.mu.Lock()
	f(&b.sum)
	b.mu.Unlock()
}

// chunkOutcome is what one StartQuery+wait produced.
type chunkOutcome struct {
	status  string // AWS status, or PollingTimeout
	rows    []map[string]any
	matched float64
}

// runQuery starts the chunk's query for [start, end) and waits for it,
// holding one of the region's concurrency slots throughout.
func (b *batchRun) runQuery(ctx context.Context, c *batchChunk, start, end int64) (chunkOutcome, error) {
	select {
	case c.gate.slots <- struct{}{}:
	case <-ctx.Done():
		return chunkOutcome{}, ctx.Err()
	}
	defer func() { <-c.gate.slots }()
	if err := b.pacer.waitStart(ctx, b.e, c.gkey, c.gate); err != nil {
		return chunkOutcome{}, err
	}
	in := &cloudwatchlogs.StartQueryInput{
		StartTime:   aws.Int64(start),
		EndTime:     aws.Int64(end),
		QueryString: aws.String(b.req.query),
	}
	if b.req.limit > 0 {
		in.Limit = aws.Int32(int32(b.req.limit))
	}
	// awslabs always sent logGroupNames, whose pattern refuses ARNs, so
	// cross-account ARNs failed with InvalidParameterException.
	if anyARN(c.groups) {
		in.LogGroupIdentifiers = c.groups
	} else {
		in.LogGroupNames = c.groups
	}
	out, err := c.cl.StartQuery(ctx, in)
	if err != nil {
		return chunkOutcome{}, err
	}
	// The same schedule, account budget and shared watch as every other
	// Insights wait (awslabs polls a batch every 5 s): the chunks of one
	// identity share one DescribeQueries per second while they run.
	w, err := waitInsightsQuery(ctx, b.e, c.cl, aws.ToString(out.QueryId), insightsWait{
		Timeout: b.req.maxTimeout, StopOnTimeout: true,
	})
	if err != nil {
		return chunkOutcome{}, err
	}
	if w.TimedOut {
		return chunkOutcome{status: "PollingTimeout"}, nil
	}
	res := chunkOutcome{status: string(w.Output.Status)}
	if s := w.Output.Statistics; s != nil {
		res.matched = s.RecordsMatched
	}
	res.rows = make([]map[string]any, 0, len(w.Output.Results))
	for _, r := range w.Output.Results {
		row := make(map[string]any, len(r)+3)
		for _, f := range r {
			row[aws.ToString(f.Field)] = aws.ToString(f.Value)
		}
		res.rows = append(res.rows, row)
	}
	return res, nil
}

// nonRetryable are errors a second attempt cannot fix.
func nonRetryable(err error) (string, bool) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "AccessDeniedException", "InvalidParameterException", "ResourceNotFoundException", "MalformedQueryException":
			return ae.ErrorCode(), true
		}
	}
	return "", false
}

// runChunk runs one chunk with a retry and the recursive split, returning
// its annotated rows.
func (b *batchRun) runChunk(ctx context.Context, c *batchChunk, start, end int64, depth int) []map[string]any {
	var res chunkOutcome
	for attempt := 1; attempt <= batchMaxAttempts; attempt++ {
		var err error
		res, err = b.runQuery(ctx, c, start, end)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if code, ok := nonRetryable(err); ok {
				b.count(func(s *batchSummary) { s.FailedChunks++ })
				b.warn("Query failed in %s with %s. Log groups: %s. Time range: %s. Error: %s. This error is not retryable.",
					c.region, code, groupPreview(c.groups), timeRange(start, end), toolkit.ErrorMessage(err))
				return nil
			}
			if attempt < batchMaxAttempts {
				b.count(func(s *batchSummary) { s.RetriedChunks++ })
				if b.backoff(ctx) != nil {
					return nil
				}
				continue
			}
			b.count(func(s *batchSummary) { s.FailedChunks++ })
			b.warn("Query failed in %s after %d retries. Log groups: %s. Time range: %s. Error: %s. Suggestion: Try reducing time range or number of log groups.",
				c.region, batchMaxAttempts, groupPreview(c.groups), timeRange(start, end), toolkit.ErrorMessage(err))
			return nil
		}

		outputHit := b.outputLimitHit(res)
		if outputHit || res.status == "Timeout" || res.status == "PollingTimeout" {
			reason := "timeout"
			if outputHit {
				reason = "output record limit"
			}
			mid := start + (end-start)/2
			if mid == start || depth >= batchMaxSplitDepth {
				capReason := "time range cannot be split further"
				if mid != start {
					capReason = fmt.Sprintf("max re-chunk depth (%d) reached", batchMaxSplitDepth)
				}
				b.warn("Chunk in %s hit %s but %s; returning partial results", c.region, reason, capReason)
				if len(res.rows) > 0 {
					b.count(func(s *batchSummary) { s.SuccessfulChunks++ })
				} else {
					b.count(func(s *batchSummary) { s.FailedChunks++ })
				}
				break
			}
			b.count(func(s *batchSummary) { s.ReChunked++ })
			b.warn("Chunk in %s hit %s; splitting time range into halves", c.region, reason)
			// Halves run one after the other in this chunk's turn, so a
			// split never multiplies the region's concurrent queries.
			first := b.runChunk(ctx, c, start, mid, depth+1)
			return append(first, b.runChunk(ctx, c, mid, end, depth+1)...)
		}
		if res.status == "Failed" {
			b.count(func(s *batchSummary) { s.FailedChunks++ })
			b.warn("Query failed in %s (likely query error, not timeout): status=%s", c.region, res.status)
			return nil
		}
		if res.status == "Complete" {
			b.count(func(s *batchSummary) { s.SuccessfulChunks++ })
			break
		}
		// Cancelled (by someone else) or Unknown: worth one more try.
		if attempt < batchMaxAttempts {
			b.count(func(s *batchSummary) { s.RetriedChunks++ })
			if b.backoff(ctx) != nil {
				return nil
			}
			continue
		}
		b.count(func(s *batchSummary) { s.FailedChunks++ })
		b.warn("Chunk ended with status %s in %s", res.status, c.region)
	}
	b.annotate(res.rows, c)
	return res.rows
}

func (b *batchRun) backoff(ctx context.Context) error {
	return b.e.Sleep(ctx, batchRetryBackoff)
}

// outputLimitHit reports whether a chunk's output was truncated at the
// 10,000-row cap. awslabs trusted recordsMatched whenever it was non-zero,
// but recordsMatched counts every matching event: a query that caps its own
// output (| limit 100, the limit parameter) or aggregates (stats) reports
// large recordsMatched without losing a row, and splitting it only costs
// queries (and, for stats, returns per-half partial aggregates).
func (b *batchRun) outputLimitHit(r chunkOutcome) bool {
	if b.splitOnMatched && r.matched > 0 {
		return r.matched >= batchMaxOutput
	}
	return len(r.rows) >= batchMaxOutput
}

var (
	reQueryLimit = regexp.MustCompile(`(?i)(?:\|\s*(?:limit|head)|\bLIMIT)\s+(\d+)`)
	reQueryStats = regexp.MustCompile(`(?i)(?:^|\|)\s*stats\b|\bGROUP\s+BY\b`)
)

// queryCapsOutput reports whether the query (or the limit parameter) keeps
// its output below the 10,000-row cap, or aggregates.
func queryCapsOutput(query string, limit int) bool {
	if limit > 0 && limit < batchMaxOutput {
		return true
	}
	if reQueryStats.MatchString(query) {
		return true
	}
	for _, m := range reQueryLimit.FindAllStringSubmatch(query, -1) {
		if n, err := strconv.Atoi(m[1]); err == nil && n < batchMaxOutput {
			return true
		}
	}
	return false
}

// annotate adds _region, _account and _logGroups to each row.
func (b *batchRun) annotate(rows []map[string]any, c *batchChunk) {
	label := fmt.Sprintf("%d log groups", len(c.groups))
	if len(c.groups) == 1 {
		label = c.groups[0]
	}
	account := b.req.accountLabel
	if account == "" {
		account = chunkAccount(c.groups)
	}
	for _, r := range rows {
		r["_region"] = c.region
		if account != "" {
			r["_account"] = account
		}
		r["_logGroups"] = label
	}
}

// chunkAccount is the account of a chunk made only of ARNs of one account
// ("" otherwise), so rows are attributed without an account_label.
func chunkAccount(groups []string) string {
	acct := ""
	for _, g := range groups {
		a, ok := arnPart(g, 4)
		if !ok || (acct != "" && a != acct) {
			return ""
		}
		acct = a
	}
	return acct
}

func anyARN(groups []string) bool {
	for _, g := range groups {
		if strings.HasPrefix(g, "arn:") {
			return true
		}
	}
	return false
}

// arnPart returns the i-th colon-separated part of an ARN.
func arnPart(arn string, i int) (string, bool) {
	if !strings.HasPrefix(arn, "arn:") {
		return "", false
	}
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[i] == "" {
		return "", false
	}
	return parts[i], true
}

func groupPreview(groups []string) string {
	shown := groups[:min(3, len(groups))]
	q := make([]string, 0, 4)
	for _, g := range shown {
		q = append(q, "'"+g+"'")
	}
	if len(groups) > 3 {
		q = append(q, "'...'")
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// timeRange renders epoch seconds as UTC (awslabs printed naive local time).
func timeRange(start, end int64) string {
	return time.Unix(start, 0).UTC().Format(time.RFC3339) + " to " + time.Unix(end, 0).UTC().Format(time.RFC3339)
}

// planChunks splits the log groups per region. An ARN names its region, so
// it is queried only there: awslabs sent every ARN to every region, where
// StartQuery refuses it ("Cross-region requests are not supported") and
// takes the rest of its chunk down with it.
func planChunks(groups, regions []string) (perRegion map[string][][]string, skipped []string) {
	requested := map[string]bool{}
	for _, r := range regions {
		requested[r] = true
	}
	perRegion = map[string][][]string{}
	for _, r := range regions {
		if _, done := perRegion[r]; done {
			continue
		}
		var mine []string
		for _, g := range groups {
			if reg, ok := arnPart(g, 3); ok && reg != r {
				continue
			}
			mine = append(mine, logGroupIdentifierOf(g))
		}
		var chunks [][]string
		for i := 0; i < len(mine); i += batchGroupsPerQuery {
			chunks = append(chunks, mine[i:min(i+batchGroupsPerQuery, len(mine))])
		}
		perRegion[r] = chunks
	}
	for _, g := range groups {
		if reg, ok := arnPart(g, 3); ok && !requested[reg] {
			skipped = append(skipped, g)
		}
	}
	return perRegion, skipped
}

// interleave orders the chunks (indexes, per region) round-robin across
// regions, so the identity's slots spread over the regions' own
// concurrency instead of queueing on the first region's. Results keep the
// per-region order.
func interleave(byRegion [][]int) []int {
	var out []int
	for i := 0; ; i++ {
		added := false
		for _, cs := range byRegion {
			if i < len(cs) {
				out = append(out, cs[i])
				added = true
			}
		}
		if !added {
			return out
		}
	}
}

// run executes the batch. It returns ctx's error when the client went away
// (every query in flight has then been stopped).
func (b *batchRun) run(ctx context.Context) (*batchResult, error) {
	perRegion, skipped := planChunks(b.req.groups, b.req.regions)
	total := 0
	for _, cs := range perRegion {
		total += len(cs)
	}
	if total > batchMaxChunks {
		return nil, toolkit.Errorf("this call would run %d queries (%d log groups in chunks of %d, in %d regions); at most %d run per call: name fewer regions or log groups, or split the call",
			total, len(b.req.groups), batchGroupsPerQuery, len(b.req.regions), batchMaxChunks)
	}
	b.sum = batchSummary{TotalLogGroups: len(b.req.groups), TotalRegions: len(b.req.regions), Warnings: []string{}}
	if len(skipped) > 0 {
		b.warn("Skipped %d log group ARN(s) whose region is not in regions: %s", len(skipped), groupPreview(skipped))
	}

	var releases []func()
	defer func() {
		for _, r := range releases {
			r()
		}
	}()
	all, release := b.pacer.acquireIdentity(b.idKey)
	releases = append(releases, release)
	var chunks []*batchChunk
	// byRegion holds indexes into chunks; b.req.regions are distinct
	// (batchArgs).
	var byRegion [][]int
	for _, region := range b.req.regions {
		if len(perRegion[region]) == 0 {
			continue
		}
		cl, err := b.e.LogsClient(ctx, region, b.req.profile)
		if err != nil {
			return nil, err
		}
		key := b.idKey + "|" + region
		gate, release := b.pacer.acquire(key)
		releases = append(releases, release)
		var mine []int
		for _, groups := range perRegion[region] {
			mine = append(mine, len(chunks))
			chunks = append(chunks, &batchChunk{region: region, groups: groups, gate: gate, gkey: key, cl: cl})
		}
		byRegion = append(byRegion, mine)
	}
	b.sum.TotalChunks = len(chunks)

	// A chunk's goroutine starts once it holds one of the identity's
	// slots, so however many chunks a call has, and however many calls an
	// identity makes, at most batchConcurrencyPerIdentity chunks (and
	// goroutines) are in progress for it.
	results := make([][]map[string]any, len(chunks))
	var wg sync.WaitGroup
dispatch:
	for _, i := range interleave(byRegion) {
		c := chunks[i]
		select {
		case all.slots <- struct{}{}:
		case <-ctx.Done():
			break dispatch
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-all.slots }()
			results[i] = b.runChunk(ctx, c, b.req.start, b.req.end, 0)
			b.mu.Lock()
			b.done++
			done, progress := b.done, b.progress
			b.mu.Unlock()
			if progress != nil {
				progress(done)
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	out := &batchResult{Results: []map[string]any{}}
	for _, rs := range results {
		out.Results = append(out.Results, rs...)
	}
	b.sum.TotalRecordsReturned = len(out.Results)
	if n := len(out.Results); n >= batchLargeResult {
		b.sum.Warnings = append(b.sum.Warnings, fmt.Sprintf("Large result set: %d records returned. This may consume significant memory. Consider using the limit parameter or adding \"| limit N\" to your query to reduce result size.", n))
	}
	out.Summary = b.sum
	return out, nil
}

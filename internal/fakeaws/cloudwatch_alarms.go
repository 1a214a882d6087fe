package fakeaws

// CloudWatch alarms (RPCv2 CBOR): DescribeAlarms and DescribeAlarmHistory,
// plus the seeding API that tests and the zero-setup demo share. Seeded
// alarms behave the way AWS reports them: state transitions write
// StateUpdate history with the HistoryData JSON AWS writes, alarms with
// actions write Action items, and creation writes a ConfigurationUpdate.

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// AlarmAccountID is the account in every alarm ARN the fake writes.
const AlarmAccountID = "123456789012"

// AlarmDimension is one metric dimension of a metric alarm.
type AlarmDimension struct {
	Name  string
	Value string
}

// MetricAlarm is a seeded metric alarm. Zero values get AWS's defaults.
type MetricAlarm struct {
	Name        string // required, unique among all alarms
	Description string
	// Region limits the alarm to one region; "" makes it visible in all.
	Region string

	Namespace  string
	MetricName string
	Dimensions []AlarmDimension
	// Statistic defaults to "Average" unless ExtendedStatistic or Metrics
	// is set.
	Statistic         string
	ExtendedStatistic string // e.g. "p99"
	Unit              string
	Period            int32 // seconds; default 300 (absent for Metrics alarms)
	EvaluationPeriods int32 // default 1
	DatapointsToAlarm int32 // default EvaluationPeriods
	Threshold         float64
	// ThresholdMetricID names the ANOMALY_DETECTION_BAND query of an anomaly
	// detection alarm; such alarms have no static Threshold.
	ThresholdMetricID  string
	ComparisonOperator string // default GreaterThanThreshold
	TreatMissingData   string // default "missing"
	// Metrics is the metric-math / anomaly-detection query list in AWS's
	// wire shape (Id, Expression, MetricStat{Metric, Period, Stat}, ReturnData, Label).
	Metrics []map[string]any

	ActionsDisabled         bool
	AlarmActions            []string
	OKActions               []string
	InsufficientDataActions []string

	State           string // default INSUFFICIENT_DATA
	StateReason     string
	StateReasonData string
	StateUpdated    time.Time // default: the fake's clock at seeding
	// Created is when the alarm was created (its ConfigurationUpdate
	// history item); default StateUpdated.
	Created time.Time
	// Owners, when set, are the only key owners DescribeAlarms shows the
	// alarm to (an alarm in their own accounts).
	Owners []string
}

// CompositeAlarm is a seeded composite alarm.
type CompositeAlarm struct {
	Name        string // required, unique among all alarms
	Description string
	Region      string // "" = every region
	// Rule is the alarm rule, e.g. `ALARM("api-5xx") AND ALARM("api-latency")`.
	Rule string

	ActionsDisabled         bool
	AlarmActions            []string
	OKActions               []string
	InsufficientDataActions []string

	State           string // default INSUFFICIENT_DATA
	StateReason     string
	StateReasonData string
	StateUpdated    time.Time
	Created         time.Time
}

// AlarmHistoryItem is one raw alarm history record as DescribeAlarmHistory
// returns it.
type AlarmHistoryItem struct {
	AlarmName string
	// AlarmType is MetricAlarm or CompositeAlarm; default: the type of the
	// seeded alarm with that name, else MetricAlarm.
	AlarmType       string
	Region          string // "" = every region
	Timestamp       time.Time
	HistoryItemType string // StateUpdate, ConfigurationUpdate, Action
	HistorySummary  string
	HistoryData     string // JSON, as AWS writes it
}

// Alarms is the alarm state of one Fake. Get it with AlarmsOf.
type Alarms struct {
	f         *Fake
	mu        sync.Mutex
	metric    map[string]*MetricAlarm
	composite map[string]*CompositeAlarm
	history   []AlarmHistoryItem
}

// AlarmsOf returns f's alarm store.
func AlarmsOf(f *Fake) *Alarms {
	return f.State("alarms", func() any {
		return &Alarms{f: f, metric: map[string]*MetricAlarm{}, composite: map[string]*CompositeAlarm{}}
	}).(*Alarms)
}

func init() {
	Register(func(f *Fake) {
		a := AlarmsOf(f)
		f.Handle("monitoring", "DescribeAlarms", a.describeAlarms)
		f.Handle("monitoring", "DescribeAlarmHistory", a.describeAlarmHistory)
	})
}

const (
	alarmStateOK           = "OK"
	alarmStateAlarm        = "ALARM"
	alarmStateInsufficient = "INSUFFICIENT_DATA"
)

var alarmStates = map[string]bool{alarmStateOK: true, alarmStateAlarm: true, alarmStateInsufficient: true}

// AddMetricAlarm seeds a metric alarm and its "created" configuration
// history item.
func (a *Alarms) AddMetricAlarm(m MetricAlarm) error {
	if m.Name == "" {
		return fmt.Errorf("fakeaws: metric alarm needs a Name")
	}
	if len(m.Metrics) == 0 {
		if m.MetricName == "" || m.Namespace == "" {
			return fmt.Errorf("fakeaws: metric alarm %q needs Namespace and MetricName, or Metrics", m.Name)
		}
		if m.Statistic == "" && m.ExtendedStatistic == "" {
			m.Statistic = "Average"
		}
		if m.Period == 0 {
			m.Period = 300
		}
	}
	if m.EvaluationPeriods == 0 {
		m.EvaluationPeriods = 1
	}
	if m.DatapointsToAlarm == 0 {
		m.DatapointsToAlarm = m.EvaluationPeriods
	}
	if m.ComparisonOperator == "" {
		m.ComparisonOperator = "GreaterThanThreshold"
	}
	if m.TreatMissingData == "" {
		m.TreatMissingData = "missing"
	}
	if err := defaultAlarmState(&m.State, &m.StateReason, &m.StateUpdated, &m.Created, a.f.now()); err != nil {
		return fmt.Errorf("fakeaws: metric alarm %q: %v", m.Name, err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.exists(m.Name) {
		return fmt.Errorf("fakeaws: alarm %q already exists", m.Name)
	}
	a.metric[m.Name] = &m
	a.history = append(a.history, AlarmHistoryItem{
		AlarmName: m.Name, AlarmType: "MetricAlarm", Region: m.Region, Timestamp: m.Created,
		HistoryItemType: "ConfigurationUpdate", HistorySummary: fmt.Sprintf("Alarm %q created", m.Name),
		HistoryData: alarmJSON(map[string]any{"type": "Create", "version": "1.0", "createdAlarm": alarmMetricConfig(&m)}),
	})
	return nil
}

// AddCompositeAlarm seeds a composite alarm and its "created" history item.
func (a *Alarms) AddCompositeAlarm(c CompositeAlarm) error {
	if c.Name == "" || strings.TrimSpace(c.Rule) == "" {
		return fmt.Errorf("fakeaws: composite alarm needs a Name and a Rule")
	}
	if err := defaultAlarmState(&c.State, &c.StateReason, &c.StateUpdated, &c.Created, a.f.now()); err != nil {
		return fmt.Errorf("fakeaws: composite alarm %q: %v", c.Name, err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.exists(c.Name) {
		return fmt.Errorf("fakeaws: alarm %q already exists", c.Name)
	}
	a.composite[c.Name] = &c
	a.history = append(a.history, AlarmHistoryItem{
		AlarmName: c.Name, AlarmType: "CompositeAlarm", Region: c.Region, Timestamp: c.Created,
		HistoryItemType: "ConfigurationUpdate", HistorySummary: fmt.Sprintf("Alarm %q created", c.Name),
		HistoryData: alarmJSON(map[string]any{"type": "Create", "version": "1.0", "createdAlarm": map[string]any{
			"alarmName": c.Name, "alarmArn": alarmARN(c.Region, c.Name), "alarmDescription": c.Description,
			"alarmRule": c.Rule, "actionsEnabled": !c.ActionsDisabled, "alarmActions": alarmNonNil(c.AlarmActions),
			"okActions": alarmNonNil(c.OKActions), "insufficientDataActions": alarmNonNil(c.InsufficientDataActions),
		}}),
	})
	return nil
}

// AddHistory seeds raw history records, e.g. for alarms that were deleted
// (CloudWatch keeps their history) or hand-written HistoryData.
func (a *Alarms) AddHistory(items ...AlarmHistoryItem) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, it := range items {
		if it.AlarmType == "" {
			it.AlarmType = "MetricAlarm"
			if _, ok := a.composite[it.AlarmName]; ok {
				it.AlarmType = "CompositeAlarm"
			}
		}
		if it.Timestamp.IsZero() {
			it.Timestamp = a.f.now()
		}
		a.history = append(a.history, it)
	}
}

// Transition moves an alarm to state at time at, as the alarm evaluator
// does: it updates the alarm's current state and reason and writes the
// StateUpdate history item (and an Action item per configured action).
// For metric alarms, datapoints are the evaluated values, oldest first; when
// none are given, values that explain the new state are made up.
func (a *Alarms) Transition(name, state string, at time.Time, datapoints ...float64) error {
	if !alarmStates[state] {
		return fmt.Errorf("fakeaws: %q is not an alarm state", state)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	at = at.UTC()
	if m, ok := a.metric[name]; ok {
		old := alarmStateJSON{StateValue: m.State, StateReason: m.StateReason, StateReasonData: alarmRaw(m.StateReasonData)}
		reason, data := alarmMetricStateReason(m, state, at, datapoints)
		m.State, m.StateReason, m.StateReasonData, m.StateUpdated = state, reason, data, at
		a.recordTransition(name, "MetricAlarm", m.Region, at, old, m.State, reason, data, m.ActionsDisabled, m.actionsFor(state))
		return nil
	}
	if c, ok := a.composite[name]; ok {
		old := alarmStateJSON{StateValue: c.State, StateReason: c.StateReason, StateReasonData: alarmRaw(c.StateReasonData)}
		reason, data := a.compositeStateReason(c, state, at)
		c.State, c.StateReason, c.StateReasonData, c.StateUpdated = state, reason, data, at
		a.recordTransition(name, "CompositeAlarm", c.Region, at, old, state, reason, data, c.ActionsDisabled, c.actionsFor(state))
		return nil
	}
	return fmt.Errorf("fakeaws: no alarm %q", name)
}

// Flap makes an alarm go to ALARM and back to OK n times, starting at from,
// one transition every `every`: the pattern get_alarm_history reports as
// flapping.
func (a *Alarms) Flap(name string, from time.Time, every time.Duration, n int) error {
	t := from
	for i := 0; i < n; i++ {
		if err := a.Transition(name, alarmStateAlarm, t); err != nil {
			return err
		}
		t = t.Add(every)
		if err := a.Transition(name, alarmStateOK, t); err != nil {
			return err
		}
		t = t.Add(every)
	}
	return nil
}

// Delete removes an alarm; its history stays, as in CloudWatch.
func (a *Alarms) Delete(name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.metric, name)
	delete(a.composite, name)
}

func (a *Alarms) exists(name string) bool {
	_, m := a.metric[name]
	_, c := a.composite[name]
	return m || c
}

func defaultAlarmState(state, reason *string, updated, created *time.Time, now time.Time) error {
	if *state == "" {
		*state = alarmStateInsufficient
	}
	if !alarmStates[*state] {
		return fmt.Errorf("%q is not an alarm state (OK, ALARM, INSUFFICIENT_DATA)", *state)
	}
	if *reason == "" {
		*reason = "Unchecked: Initial alarm creation"
	}
	if updated.IsZero() {
		*updated = now
	}
	*updated = updated.UTC()
	if created.IsZero() {
		*created = *updated
	}
	*created = created.UTC()
	return nil
}

func (m *MetricAlarm) actionsFor(state string) []string {
	switch state {
	case alarmStateAlarm:
		return m.AlarmActions
	case alarmStateOK:
		return m.OKActions
	}
	return m.InsufficientDataActions
}

func (c *CompositeAlarm) actionsFor(state string) []string {
	switch state {
	case alarmStateAlarm:
		return c.AlarmActions
	case alarmStateOK:
		return c.OKActions
	}
	return c.InsufficientDataActions
}

// alarmStateJSON is the oldState/newState member of StateUpdate HistoryData.
type alarmStateJSON struct {
	StateValue      string          `json:"stateValue"`
	StateReason     string          `json:"stateReason"`
	StateReasonData json.RawMessage `json:"stateReasonData,omitempty"`
}

func (a *Alarms) recordTransition(name, typ, region string, at time.Time, old alarmStateJSON, state, reason, data string, disabled bool, actions []string) {
	hd := struct {
		Version  string         `json:"version"`
		OldState alarmStateJSON `json:"oldState"`
		NewState alarmStateJSON `json:"newState"`
	}{"1.0", old, alarmStateJSON{StateValue: state, StateReason: reason, StateReasonData: alarmRaw(data)}}
	a.history = append(a.history, AlarmHistoryItem{
		AlarmName: name, AlarmType: typ, Region: region, Timestamp: at, HistoryItemType: "StateUpdate",
		HistorySummary: fmt.Sprintf("Alarm updated from %s to %s", old.StateValue, state),
		HistoryData:    alarmJSON(hd),
	})
	if disabled {
		return
	}
	for i, arn := range actions {
		msg := alarmJSON(map[string]any{
			"AlarmName": name, "AWSAccountId": AlarmAccountID, "NewStateValue": state, "NewStateReason": reason,
			"OldStateValue": old.StateValue, "StateChangeTime": at.Format(alarmHistoryTime), "AlarmArn": alarmARN(region, name),
		})
		a.history = append(a.history, AlarmHistoryItem{
			AlarmName: name, AlarmType: typ, Region: region, Timestamp: at.Add(time.Duration(i+1) * 180 * time.Millisecond),
			HistoryItemType: "Action", HistorySummary: "Successfully executed action " + arn,
			HistoryData: alarmJSON(map[string]any{
				"actionState": "Succeeded", "stateUpdateTimestamp": at.UnixMilli(),
				"notificationResource": arn, "publishedMessage": msg,
			}),
		})
	}
}

// alarmHistoryTime is the timestamp layout inside HistoryData and SNS
// messages ("2024-01-15T10:05:12.345+0000").
const alarmHistoryTime = "2006-01-02T15:04:05.000-0700"

var alarmComparisonWords = map[string]string{
	"GreaterThanThreshold":          "greater than",
	"GreaterThanOrEqualToThreshold": "greater than or equal to",
	"LessThanThreshold":             "less than",
	"LessThanOrEqualToThreshold":    "less than or equal to",
}

// alarmMetricStateReason writes the StateReason and StateReasonData the alarm
// evaluator would for a transition of m to state.
func alarmMetricStateReason(m *MetricAlarm, state string, at time.Time, datapoints []float64) (string, string) {
	if state == alarmStateInsufficient {
		return fmt.Sprintf("Insufficient Data: %d datapoint%s unknown.", m.EvaluationPeriods, alarmPlural(int(m.EvaluationPeriods), " was", "s were")), ""
	}
	period := time.Duration(m.period()) * time.Second
	n := int(m.EvaluationPeriods)
	if len(datapoints) == 0 {
		datapoints = make([]float64, n)
		for i := range datapoints {
			datapoints[i] = m.exampleValue(state == alarmStateAlarm, i)
		}
	}
	newest := at.Add(-period).Truncate(period)
	// The reason lists the newest datapoint first; recentDatapoints is in
	// time order.
	var listed []string
	type evaluated struct {
		Timestamp   string     `json:"timestamp"`
		SampleCount alarmFloat `json:"sampleCount"`
		Value       alarmFloat `json:"value"`
	}
	var evals []evaluated
	recent := make([]alarmFloat, len(datapoints))
	for i := len(datapoints) - 1; i >= 0; i-- {
		ts := newest.Add(-time.Duration(len(datapoints)-1-i) * period)
		listed = append(listed, fmt.Sprintf("%s (%s)", alarmFloat(datapoints[i]), ts.Format("02/01/06 15:04:05")))
		evals = append(evals, evaluated{ts.Format(alarmHistoryTime), alarmFloat(float64(m.period() / 60)), alarmFloat(datapoints[i])})
		recent[i] = alarmFloat(datapoints[i])
	}
	word := alarmComparisonWords[m.ComparisonOperator]
	if word == "" {
		word = "outside"
	}
	not := ""
	transition := "ALARM -> OK"
	if state != alarmStateAlarm {
		not = "not "
	} else {
		transition = "OK -> ALARM"
	}
	verb := alarmPlural(len(datapoints), "was", "were")
	var reason string
	if m.ThresholdMetricID != "" {
		reason = fmt.Sprintf("Thresholds Crossed: %d out of the last %d datapoints [%s] %s %s%s the thresholds (minimum %d datapoint%s for %s transition).",
			len(datapoints), len(datapoints), strings.Join(listed, ", "), verb, not, word, m.DatapointsToAlarm, alarmPlural(int(m.DatapointsToAlarm), "", "s"), transition)
	} else {
		reason = fmt.Sprintf("Threshold Crossed: %d out of the last %d datapoints [%s] %s %s%s the threshold (%s) (minimum %d datapoint%s for %s transition).",
			len(datapoints), len(datapoints), strings.Join(listed, ", "), verb, not, word, alarmFloat(m.Threshold), m.DatapointsToAlarm, alarmPlural(int(m.DatapointsToAlarm), "", "s"), transition)
	}
	data := map[string]any{
		"version": "1.0", "queryDate": at.Format(alarmHistoryTime),
		"startDate": newest.Add(-time.Duration(len(datapoints)-1) * period).Format(alarmHistoryTime),
		"period":    m.period(), "recentDatapoints": recent, "evaluatedDatapoints": evals,
	}
	if m.ExtendedStatistic != "" {
		data["extendedStatistic"] = m.ExtendedStatistic
	} else if m.Statistic != "" {
		data["statistic"] = m.Statistic
	}
	if m.ThresholdMetricID == "" {
		data["threshold"] = alarmFloat(m.Threshold)
	}
	return reason, alarmJSON(data)
}

// period is the alarm's evaluation period, for metric-math alarms the
// period of the query whose data is returned.
func (m *MetricAlarm) period() int32 {
	if m.Period > 0 {
		return m.Period
	}
	for _, q := range m.Metrics {
		if rd, ok := q["ReturnData"].(bool); ok && !rd {
			continue
		}
		if p := alarmAnyInt(q["Period"]); p > 0 {
			return int32(p)
		}
		if ms, ok := q["MetricStat"].(map[string]any); ok {
			if p := alarmAnyInt(ms["Period"]); p > 0 {
				return int32(p)
			}
		}
	}
	for _, q := range m.Metrics {
		if ms, ok := q["MetricStat"].(map[string]any); ok {
			if p := alarmAnyInt(ms["Period"]); p > 0 {
				return int32(p)
			}
		}
	}
	return 60
}

func alarmAnyInt(v any) int64 {
	switch n := v.(type) {
	case int:
		return int64(n)
	case int32:
		return int64(n)
	case int64:
		return n
	case float64:
		return int64(n)
	}
	return 0
}

// exampleValue makes up a datapoint on the breaching (or the healthy) side
// of the threshold.
func (m *MetricAlarm) exampleValue(breaching bool, i int) float64 {
	t := m.Threshold
	step := math.Max(math.Abs(t)*0.1, 1)
	above := strings.HasPrefix(m.ComparisonOperator, "Greater")
	if breaching != above {
		step = -step
	}
	if !breaching {
		step *= 3
	}
	return math.Round((t+step*(1+float64(i%3)*0.25))*10) / 10
}

func (a *Alarms) compositeStateReason(c *CompositeAlarm, state string, at time.Time) (string, string) {
	type trig struct {
		Arn   string `json:"arn"`
		State struct {
			Value     string `json:"value"`
			Timestamp string `json:"timestamp"`
		} `json:"state"`
	}
	var triggering []trig
	for _, child := range alarmRuleNames(c.Rule) {
		var st string
		var ts time.Time
		if m, ok := a.metric[child]; ok {
			st, ts = m.State, m.StateUpdated
		} else if cc, ok := a.composite[child]; ok {
			st, ts = cc.State, cc.StateUpdated
		} else {
			continue
		}
		if st != state {
			continue
		}
		t := trig{Arn: alarmARN(c.Region, child)}
		t.State.Value, t.State.Timestamp = st, ts.Format(alarmHistoryTime)
		triggering = append(triggering, t)
	}
	if len(triggering) == 0 {
		return fmt.Sprintf("%s transitioned to %s at %s", alarmARN(c.Region, c.Name), state, at.Format("Monday 02 January, 2006 15:04:05 UTC")), ""
	}
	return fmt.Sprintf("%s transitioned to %s at %s", triggering[0].Arn, state, at.Format("Monday 02 January, 2006 15:04:05 UTC")),
		alarmJSON(map[string]any{"triggeringAlarms": triggering})
}

var (
	alarmRuleCall    = regexp.MustCompile(`\b(?:ALARM|OK|INSUFFICIENT_DATA)\(\s*("[^"]*"|[^()",\s]+)\s*\)`)
	alarmRuleAtLeast = regexp.MustCompile(`\bAT_LEAST\([^,()]+,[^,()]+,\s*\(([^()]*)\)\s*\)`)
)

// alarmRuleNames lists the alarms an alarm rule refers to, by name.
func alarmRuleNames(rule string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		s = strings.Trim(strings.TrimSpace(s), `"`)
		if i := strings.LastIndex(s, ":alarm:"); i >= 0 {
			s = s[i+len(":alarm:"):]
		}
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, m := range alarmRuleCall.FindAllStringSubmatch(rule, -1) {
		add(m[1])
	}
	for _, m := range alarmRuleAtLeast.FindAllStringSubmatch(rule, -1) {
		for _, s := range strings.Split(m[1], ",") {
			add(s)
		}
	}
	return out
}

func alarmARN(region, name string) string {
	if region == "" {
		region = "us-east-1"
	}
	return "arn:aws:cloudwatch:" + region + ":" + AlarmAccountID + ":alarm:" + name
}

func alarmMetricConfig(m *MetricAlarm) map[string]any {
	cfg := map[string]any{
		"alarmName": m.Name, "alarmArn": alarmARN(m.Region, m.Name), "alarmDescription": m.Description,
		"actionsEnabled": !m.ActionsDisabled, "alarmActions": alarmNonNil(m.AlarmActions), "okActions": alarmNonNil(m.OKActions),
		"insufficientDataActions": alarmNonNil(m.InsufficientDataActions), "evaluationPeriods": m.EvaluationPeriods,
		"datapointsToAlarm": m.DatapointsToAlarm, "comparisonOperator": m.ComparisonOperator,
		"treatMissingData": m.TreatMissingData,
	}
	if len(m.Metrics) > 0 {
		cfg["metrics"] = m.Metrics
	} else {
		dims := make([]map[string]string, 0, len(m.Dimensions))
		for _, d := range m.Dimensions {
			dims = append(dims, map[string]string{"name": d.Name, "value": d.Value})
		}
		cfg["namespace"], cfg["metricName"], cfg["dimensions"], cfg["period"] = m.Namespace, m.MetricName, dims, m.Period
		if m.ExtendedStatistic != "" {
			cfg["extendedStatistic"] = m.ExtendedStatistic
		} else {
			cfg["statistic"] = strings.ToUpper(m.Statistic)
		}
	}
	if m.ThresholdMetricID != "" {
		cfg["thresholdMetricId"] = m.ThresholdMetricID
	} else {
		cfg["threshold"] = alarmFloat(m.Threshold)
	}
	return cfg
}

// --- operations ---

var (
	alarmTypeNames        = map[string]bool{"MetricAlarm": true, "CompositeAlarm": true}
	alarmHistoryItemTypes = map[string]bool{"ConfigurationUpdate": true, "StateUpdate": true, "Action": true, "AlarmContributorStateUpdate": true, "AlarmContributorAction": true}
)

func (a *Alarms) describeAlarms(r *Request) (any, error) {
	maxRecords, err := alarmMaxRecords(r)
	if err != nil {
		return nil, err
	}
	names := r.Strings("AlarmNames")
	prefix := r.String("AlarmNamePrefix")
	state := r.String("StateValue")
	actionPrefix := r.String("ActionPrefix")
	children, parents := r.String("ChildrenOfAlarmName"), r.String("ParentsOfAlarmName")
	if len(names) > 0 && prefix != "" {
		return nil, Errorf("InvalidParameterCombination", "AlarmNames and AlarmNamePrefix cannot be specified together.")
	}
	if (children != "" || parents != "") && (len(names) > 0 || prefix != "" || state != "" || actionPrefix != "" || (children != "" && parents != "")) {
		return nil, Errorf("InvalidParameterCombination", "ChildrenOfAlarmName and ParentsOfAlarmName can only be combined with MaxRecords, NextToken and AlarmTypes.")
	}
	if len(names) > 100 {
		return nil, Errorf("ValidationError", "1 validation error detected: Value at 'alarmNames' failed to satisfy constraint: Member must have length less than or equal to 100")
	}
	if state != "" && !alarmStates[state] {
		return nil, Errorf("ValidationError", "1 validation error detected: Value '%s' at 'stateValue' failed to satisfy constraint: Member must satisfy enum value set: [INSUFFICIENT_DATA, ALARM, OK]", state)
	}
	types, err := alarmTypesFilter(r)
	if err != nil {
		return nil, err
	}
	offset, err := alarmPageOffset(r)
	if err != nil {
		return nil, err
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	nameSet := map[string]bool{}
	for _, n := range names {
		nameSet[n] = true
	}
	var childSet map[string]bool
	if children != "" {
		childSet = map[string]bool{}
		if c, ok := a.composite[children]; ok {
			for _, n := range alarmRuleNames(c.Rule) {
				childSet[n] = true
			}
		}
	}
	keep := func(name, region, st string, actions ...[]string) bool {
		if region != "" && region != r.Region {
			return false
		}
		if len(nameSet) > 0 && !nameSet[name] || prefix != "" && !strings.HasPrefix(name, prefix) || state != "" && st != state {
			return false
		}
		if childSet != nil && !childSet[name] {
			return false
		}
		if actionPrefix != "" {
			for _, l := range actions {
				for _, act := range l {
					if strings.HasPrefix(act, actionPrefix) {
						return true
					}
				}
			}
			return false
		}
		return true
	}

	type entry struct {
		name string
		out  map[string]any
		comp bool
	}
	var all []entry
	if types["MetricAlarm"] && parents == "" {
		for _, m := range a.metric {
			if len(m.Owners) > 0 && !slices.Contains(m.Owners, r.Owner) {
				continue
			}
			if keep(m.Name, m.Region, m.State, m.AlarmActions, m.OKActions, m.InsufficientDataActions) {
				all = append(all, entry{m.Name, alarmMetricOut(m, r.Region), false})
			}
		}
	}
	if types["CompositeAlarm"] {
		for _, c := range a.composite {
			if parents != "" && !alarmContains(alarmRuleNames(c.Rule), parents) {
				continue
			}
			if keep(c.Name, c.Region, c.State, c.AlarmActions, c.OKActions, c.InsufficientDataActions) {
				all = append(all, entry{c.Name, alarmCompositeOut(c, r.Region), true})
			}
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].name < all[j].name })
	if offset > len(all) {
		return nil, Errorf("InvalidNextToken", "The service returned an invalid NextToken.")
	}
	end := min(offset+maxRecords, len(all))
	metricOut, compositeOut := []any{}, []any{}
	for _, e := range all[offset:end] {
		if e.comp {
			compositeOut = append(compositeOut, e.out)
		} else {
			metricOut = append(metricOut, e.out)
		}
	}
	out := map[string]any{"MetricAlarms": metricOut, "CompositeAlarms": compositeOut}
	if end < len(all) {
		out["NextToken"] = alarmPageToken("alarms", end)
	}
	return out, nil
}

func (a *Alarms) describeAlarmHistory(r *Request) (any, error) {
	maxRecords, err := alarmMaxRecords(r)
	if err != nil {
		return nil, err
	}
	itemType := r.String("HistoryItemType")
	if itemType != "" && !alarmHistoryItemTypes[itemType] {
		return nil, Errorf("ValidationError", "1 validation error detected: Value '%s' at 'historyItemType' failed to satisfy constraint: Member must satisfy enum value set: [ConfigurationUpdate, StateUpdate, Action, AlarmContributorStateUpdate, AlarmContributorAction]", itemType)
	}
	scanBy := r.String("ScanBy")
	if scanBy == "" {
		scanBy = "TimestampDescending"
	}
	if scanBy != "TimestampDescending" && scanBy != "TimestampAscending" {
		return nil, Errorf("ValidationError", "1 validation error detected: Value '%s' at 'scanBy' failed to satisfy constraint: Member must satisfy enum value set: [TimestampDescending, TimestampAscending]", scanBy)
	}
	types, err := alarmTypesFilter(r)
	if err != nil {
		return nil, err
	}
	offset, err := alarmPageOffset(r)
	if err != nil {
		return nil, err
	}
	name := r.String("AlarmName")
	start, hasStart := r.Time("StartDate")
	end, hasEnd := r.Time("EndDate")

	a.mu.Lock()
	var items []AlarmHistoryItem
	for _, it := range a.history {
		if it.Region != "" && it.Region != r.Region || name != "" && it.AlarmName != name || !types[it.AlarmType] ||
			itemType != "" && it.HistoryItemType != itemType || hasStart && it.Timestamp.Before(start) || hasEnd && it.Timestamp.After(end) {
			continue
		}
		items = append(items, it)
	}
	a.mu.Unlock()
	sort.SliceStable(items, func(i, j int) bool {
		if scanBy == "TimestampAscending" {
			return items[i].Timestamp.Before(items[j].Timestamp)
		}
		return items[i].Timestamp.After(items[j].Timestamp)
	})
	if offset > len(items) {
		return nil, Errorf("InvalidNextToken", "The service returned an invalid NextToken.")
	}
	stop := min(offset+maxRecords, len(items))
	list := []any{}
	for _, it := range items[offset:stop] {
		list = append(list, map[string]any{
			"AlarmName": it.AlarmName, "AlarmType": it.AlarmType, "Timestamp": it.Timestamp,
			"HistoryItemType": it.HistoryItemType, "HistorySummary": it.HistorySummary, "HistoryData": it.HistoryData,
		})
	}
	out := map[string]any{"AlarmHistoryItems": list}
	if stop < len(items) {
		out["NextToken"] = alarmPageToken("history", stop)
	}
	return out, nil
}

func alarmMetricOut(m *MetricAlarm, region string) map[string]any {
	if m.Region != "" {
		region = m.Region
	}
	out := map[string]any{
		"AlarmName": m.Name, "AlarmArn": alarmARN(region, m.Name),
		"AlarmConfigurationUpdatedTimestamp": m.Created, "ActionsEnabled": !m.ActionsDisabled,
		"OKActions": alarmStringsAny(m.OKActions), "AlarmActions": alarmStringsAny(m.AlarmActions),
		"InsufficientDataActions": alarmStringsAny(m.InsufficientDataActions),
		"StateValue":              m.State, "StateReason": m.StateReason, "StateUpdatedTimestamp": m.StateUpdated,
		"StateTransitionedTimestamp": m.StateUpdated, "EvaluationPeriods": m.EvaluationPeriods,
		"DatapointsToAlarm": m.DatapointsToAlarm, "ComparisonOperator": m.ComparisonOperator,
		"TreatMissingData": m.TreatMissingData,
	}
	setIf := func(k, v string) {
		if v != "" {
			out[k] = v
		}
	}
	setIf("AlarmDescription", m.Description)
	setIf("StateReasonData", m.StateReasonData)
	setIf("MetricName", m.MetricName)
	setIf("Namespace", m.Namespace)
	setIf("Statistic", m.Statistic)
	setIf("ExtendedStatistic", m.ExtendedStatistic)
	setIf("Unit", m.Unit)
	setIf("ThresholdMetricId", m.ThresholdMetricID)
	if m.Period > 0 {
		out["Period"] = m.Period
	}
	if m.ThresholdMetricID == "" {
		out["Threshold"] = m.Threshold
	}
	dims := []any{}
	for _, d := range m.Dimensions {
		dims = append(dims, map[string]any{"Name": d.Name, "Value": d.Value})
	}
	out["Dimensions"] = dims
	if len(m.Metrics) > 0 {
		qs := make([]any, len(m.Metrics))
		for i, q := range m.Metrics {
			qs[i] = q
		}
		out["Metrics"] = qs
	}
	return out
}

func alarmCompositeOut(c *CompositeAlarm, region string) map[string]any {
	if c.Region != "" {
		region = c.Region
	}
	out := map[string]any{
		"AlarmName": c.Name, "AlarmArn": alarmARN(region, c.Name), "AlarmRule": c.Rule,
		"AlarmConfigurationUpdatedTimestamp": c.Created, "ActionsEnabled": !c.ActionsDisabled,
		"OKActions": alarmStringsAny(c.OKActions), "AlarmActions": alarmStringsAny(c.AlarmActions),
		"InsufficientDataActions": alarmStringsAny(c.InsufficientDataActions),
		"StateValue":              c.State, "StateReason": c.StateReason, "StateUpdatedTimestamp": c.StateUpdated,
		"StateTransitionedTimestamp": c.StateUpdated,
	}
	if c.Description != "" {
		out["AlarmDescription"] = c.Description
	}
	if c.StateReasonData != "" {
		out["StateReasonData"] = c.StateReasonData
	}
	return out
}

func alarmMaxRecords(r *Request) (int, error) {
	n, ok := r.Int("MaxRecords")
	if !ok {
		return 50, nil
	}
	if n < 1 || n > 100 {
		rel := "greater than or equal to 1"
		if n > 100 {
			rel = "less than or equal to 100"
		}
		return 0, Errorf("ValidationError", "1 validation error detected: Value '%d' at 'maxRecords' failed to satisfy constraint: Member must have value %s", n, rel)
	}
	return int(n), nil
}

// alarmTypesFilter reads AlarmTypes; like AWS, an absent list means metric
// alarms only.
func alarmTypesFilter(r *Request) (map[string]bool, error) {
	types := map[string]bool{}
	for _, t := range r.Strings("AlarmTypes") {
		if !alarmTypeNames[t] {
			return nil, Errorf("ValidationError", "1 validation error detected: Value '[%s]' at 'alarmTypes' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [CompositeAlarm, MetricAlarm]]", t)
		}
		types[t] = true
	}
	if len(types) == 0 {
		types["MetricAlarm"] = true
	}
	return types, nil
}

func alarmPageToken(kind string, offset int) string { return encodePageToken("alarms/"+kind, offset) }

func alarmPageOffset(r *Request) (int, error) {
	tok := r.String("NextToken")
	if tok == "" {
		return 0, nil
	}
	kind := "alarms"
	if r.Op == "DescribeAlarmHistory" {
		kind = "history"
	}
	n, ok := decodePageToken(tok, "alarms/"+kind)
	if !ok {
		return 0, Errorf("InvalidNextToken", "The service returned an invalid NextToken.")
	}
	return n, nil
}

// alarmFloat prints like the Java service does: 80.0, not 80.
type alarmFloat float64

func (f alarmFloat) String() string {
	s := strconv.FormatFloat(float64(f), 'f', -1, 64)
	if !strings.ContainsAny(s, ".eEn") {
		s += ".0"
	}
	return s
}

func (f alarmFloat) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return []byte("null"), nil
	}
	return []byte(f.String()), nil
}

func alarmJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "{}"
	}
	return string(b)
}

func alarmRaw(s string) json.RawMessage {
	if s == "" || !json.Valid([]byte(s)) {
		return nil
	}
	return json.RawMessage(s)
}

func alarmPlural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func alarmNonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func alarmStringsAny(l []string) []any {
	out := make([]any, len(l))
	for i, s := range l {
		out[i] = s
	}
	return out
}

func alarmContains(l []string, s string) bool {
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}

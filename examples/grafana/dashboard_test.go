package grafana

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

// The dashboard as Grafana's classic JSON model has it, the fields the
// checks read.
type dashboard struct {
	ID            any     `json:"id"`
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []templateVar `json:"list"`
	} `json:"templating"`
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type gridPos struct{ H, W, X, Y int }

type panel struct {
	ID          int            `json:"id"`
	Type        string         `json:"type"`
	Title       string         `json:"title"`
	Description string         `json:"description"`
	Datasource  *datasourceRef `json:"datasource"`
	GridPos     gridPos        `json:"gridPos"`
	Targets     []target       `json:"targets"`
	Collapsed   bool           `json:"collapsed"`
	Panels      []panel        `json:"panels"` // a collapsed row keeps its panels here
}

type target struct {
	Datasource   *datasourceRef `json:"datasource"`
	Expr         string         `json:"expr"`
	RefID        string         `json:"refId"`
	LegendFormat string         `json:"legendFormat"`
	Instant      bool           `json:"instant"`
}

type templateVar struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Datasource *datasourceRef  `json:"datasource"`
	Query      json.RawMessage `json:"query"`
	Definition string          `json:"definition"`
	Multi      bool            `json:"multi"`
	IncludeAll bool            `json:"includeAll"`
}

// dsVar is the data source variable every query goes through, so the
// dashboard imports into any Grafana whatever its Prometheus is called.
const dsVar = "DS_PROMETHEUS"

var dsRef = datasourceRef{Type: "prometheus", UID: "${" + dsVar + "}"}

func loadDashboard(t *testing.T, path string) *dashboard {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &d
}

// allPanels lists every panel, those inside collapsed rows included.
func (d *dashboard) allPanels() []panel {
	var out []panel
	for _, p := range d.Panels {
		out = append(out, p)
		out = append(out, p.Panels...)
	}
	return out
}

// query is one PromQL expression of the dashboard and where it is.
type query struct {
	where  string
	expr   string
	legend string
	panel  *panel // nil for a variable's query
}

// queries lists every panel target's expression.
func (d *dashboard) queries() []query {
	var out []query
	for _, p := range d.allPanels() {
		for _, t := range p.Targets {
			out = append(out, query{where: fmt.Sprintf("panel %d %q, query %s", p.ID, p.Title, t.RefID),
				expr: t.Expr, legend: t.LegendFormat, panel: &p})
		}
	}
	return out
}

// variables maps the dashboard's template variables for the checker.
func (d *dashboard) variables() map[string]variable {
	vars := map[string]variable{}
	for _, v := range d.Templating.List {
		vars[v.Name] = variable{multi: v.Multi || v.IncludeAll}
	}
	return vars
}

// variableQuery is a query variable's PromQL, as either JSON shape
// Grafana writes: a string, or {"query": "..."} (the query editor's).
func (v templateVar) variableQuery() (string, error) {
	var s string
	if err := json.Unmarshal(v.Query, &s); err == nil {
		return s, nil
	}
	var o struct {
		Query string `json:"query"`
	}
	if err := json.Unmarshal(v.Query, &o); err != nil {
		return "", fmt.Errorf("variable %s: query is neither a string nor an object: %s", v.Name, v.Query)
	}
	return o.Query, nil
}

// labelValuesRe matches label_values(<selector>, <label>).
var labelValuesRe = regexp.MustCompile(`^\s*label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$`)

// panelTypes are Grafana's core visualizations the dashboard may use.
var panelTypes = map[string]bool{"row": true, "timeseries": true, "stat": true, "bargauge": true, "gauge": true, "table": true, "text": true}

// structureErrors finds what would stop Grafana from importing the
// dashboard as intended, or make it render wrongly: duplicate or missing
// panel ids, panels outside the 24-column grid or on top of each other,
// data sources not going through the variable, unknown template
// variables.
func structureErrors(d *dashboard) []error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if d.ID != nil {
		fail("id is %v; a shared dashboard has id null so that importing creates it", d.ID)
	}
	if d.UID == "" || len(d.UID) > 40 {
		fail("uid %q: must be 1 to 40 characters", d.UID)
	}
	if d.Title == "" {
		fail("no title")
	}
	if d.SchemaVersion < 39 {
		fail("schemaVersion %d is older than Grafana 11's (39)", d.SchemaVersion)
	}

	ids := map[int]string{}
	type rect struct {
		gridPos
		title string
	}
	var placed []rect
	for _, p := range d.allPanels() {
		if p.ID <= 0 {
			fail("panel %q has no id", p.Title)
		} else if other, dup := ids[p.ID]; dup {
			fail("panels %q and %q share id %d", other, p.Title, p.ID)
		}
		ids[p.ID] = p.Title
		if !panelTypes[p.Type] {
			fail("panel %d %q: unknown type %q", p.ID, p.Title, p.Type)
		}
		g := p.GridPos
		if g.W < 1 || g.H < 1 || g.X < 0 || g.Y < 0 || g.X+g.W > 24 {
			fail("panel %d %q: gridPos %+v is outside the 24-column grid", p.ID, p.Title, g)
		}
		if p.Type == "row" {
			if g.W != 24 || g.H != 1 || g.X != 0 {
				fail("row %d %q: gridPos %+v, want full width and height 1", p.ID, p.Title, g)
			}
			if len(p.Panels) > 0 && !p.Collapsed {
				fail("row %d %q holds panels but is not collapsed", p.ID, p.Title)
			}
		}
		for _, o := range placed {
			if g.X < o.X+o.W && o.X < g.X+g.W && g.Y < o.Y+o.H && o.Y < g.Y+g.H {
				fail("panel %d %q overlaps %q", p.ID, p.Title, o.title)
			}
		}
		placed = append(placed, rect{g, p.Title})

		if p.Type == "row" || p.Type == "text" {
			continue
		}
		if p.Datasource == nil || *p.Datasource != dsRef {
			fail("panel %d %q: datasource %+v, want %+v", p.ID, p.Title, p.Datasource, dsRef)
		}
		if len(p.Targets) == 0 {
			fail("panel %d %q has no queries", p.ID, p.Title)
		}
		if p.Description == "" {
			fail("panel %d %q has no description", p.ID, p.Title)
		}
		refs := map[string]bool{}
		for _, t := range p.Targets {
			if t.RefID == "" || refs[t.RefID] {
				fail("panel %d %q: refId %q missing or repeated", p.ID, p.Title, t.RefID)
			}
			refs[t.RefID] = true
			if t.Datasource == nil || *t.Datasource != dsRef {
				fail("panel %d %q query %s: datasource %+v, want %+v", p.ID, p.Title, t.RefID, t.Datasource, dsRef)
			}
			if strings.TrimSpace(t.Expr) == "" {
				fail("panel %d %q query %s is empty", p.ID, p.Title, t.RefID)
			}
		}
	}

	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		if vars[v.Name] {
			fail("variable %s defined twice", v.Name)
		}
		vars[v.Name] = true
		switch v.Type {
		case "datasource":
			if v.Name != dsVar {
				fail("data source variable %s, want %s", v.Name, dsVar)
			}
			var q string
			if json.Unmarshal(v.Query, &q) != nil || q != "prometheus" {
				fail("variable %s: query %s, want \"prometheus\"", v.Name, v.Query)
			}
		case "query":
			if v.Datasource == nil || *v.Datasource != dsRef {
				fail("variable %s: datasource %+v, want %+v", v.Name, v.Datasource, dsRef)
			}
			q, err := v.variableQuery()
			if err != nil {
				errs = append(errs, err)
			} else if !labelValuesRe.MatchString(q) {
				fail("variable %s: query %q is not label_values(<selector>, <label>)", v.Name, q)
			}
		default:
			fail("variable %s: unexpected type %s", v.Name, v.Type)
		}
	}
	if !vars[dsVar] {
		fail("no %s data source variable", dsVar)
	}
	for _, v := range []string{"job", "instance"} {
		if !vars[v] {
			fail("no %s variable", v)
		}
	}
	return errs
}

// queryErrors checks every expression of the dashboard (panels and
// variables) against what a Caddy exported: valid PromQL, every metric
// and label exported, every grouping and match able to find series, every
// legend label on the result; stat panels must reduce to one series.
// used collects the series names the dashboard selects.
func queryErrors(d *dashboard, e *exported) (errs []error, used map[string]bool) {
	used = map[string]bool{}
	vars := d.variables()
	for _, q := range d.queries() {
		c := &checker{metrics: e, vars: vars}
		v, err := c.check(q.expr)
		for _, s := range c.used {
			used[s] = true
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %v\n\t%s", q.where, err, q.expr))
			continue
		}
		if v.typ != vectorT && v.typ != scalarT {
			errs = append(errs, fmt.Errorf("%s: a panel query must give an instant vector or scalar, not a %s", q.where, v.typ))
		}
		for _, m := range regexp.MustCompile(`\{\{\s*(\w+)\s*\}\}`).FindAllStringSubmatch(q.legend, -1) {
			if !v.labels[m[1]] {
				errs = append(errs, fmt.Errorf("%s: legend %q names %s, which the result does not have %s", q.where, q.legend, m[1], v.labels))
			}
		}
		if q.panel.Type == "stat" && len(v.labels) > 0 {
			errs = append(errs, fmt.Errorf("%s: a stat panel needs one series; this query keeps %s", q.where, v.labels))
		}
	}
	for _, tv := range d.Templating.List {
		if tv.Type != "query" {
			continue
		}
		q, err := tv.variableQuery()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		m := labelValuesRe.FindStringSubmatch(q)
		if m == nil {
			errs = append(errs, fmt.Errorf("variable %s: %q is not label_values(<selector>, <label>)", tv.Name, q))
			continue
		}
		c := &checker{metrics: e, vars: vars}
		v, err := c.check(m[1])
		for _, s := range c.used {
			used[s] = true
		}
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("variable %s: %v", tv.Name, err))
		case v.typ != vectorT:
			errs = append(errs, fmt.Errorf("variable %s: label_values needs a series selector", tv.Name))
		case !v.labels[m[2]]:
			errs = append(errs, fmt.Errorf("variable %s: %s has no label %s", tv.Name, m[1], m[2]))
		}
	}
	return errs, used
}

// TestDashboardStructure: the dashboard imports into Grafana as intended,
// and every expression is valid PromQL using only the dashboard's
// variables (checked here without metrics; TestDashboardAgainstCaddy
// checks the metrics).
func TestDashboardStructure(t *testing.T) {
	d := loadDashboard(t, "dashboard.json")
	for _, err := range structureErrors(d) {
		t.Error(err)
	}
	vars := d.variables()
	for _, q := range d.queries() {
		expr := builtinRanges.Replace(q.expr)
		if _, err := parseExpr(expr); err != nil {
			t.Errorf("%s: %v\n\t%s", q.where, err, q.expr)
		}
		for _, m := range varRef.FindAllStringSubmatch(expr, -1) {
			if _, ok := vars[m[1]+m[2]+m[3]]; !ok {
				t.Errorf("%s: unknown variable %s", q.where, m[0])
			}
		}
	}
}

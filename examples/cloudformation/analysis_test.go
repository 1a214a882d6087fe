package cloudformation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/constant"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

// The test derives the AWS operations from the code itself, type-checked,
// rather than from a hand-kept list: a list is exactly what drifts.

const (
	modulePath = "github.com/mcpedge/caddy-cloudwatch-mcp"
	sdkService = "github.com/aws/aws-sdk-go-v2/service/"
)

// iamPrefix maps an SDK service package to its IAM action prefix. A package
// importing an SDK service that is missing here fails the test, so a new
// service cannot slip past the policy check.
var iamPrefix = map[string]string{
	sdkService + "cloudwatchlogs":  "logs",
	sdkService + "cloudwatch":      "cloudwatch",
	sdkService + "cognitoidentity": "cognito-identity",
	sdkService + "sts":             "sts",
	sdkService + "ssooidc":         "sso-oauth",
	sdkService + "sso":             "sso",
}

var serviceRootRE = regexp.MustCompile(`^github\.com/aws/aws-sdk-go-v2/service/[^/]+$`)

// awsCall is one AWS operation the code calls, with where it does.
type awsCall struct {
	action string // IAM action, e.g. logs:StartQuery
	pos    token.Position
}

// analysis is what one package of ours calls.
type analysis struct {
	pkg      string
	services map[string]bool // SDK service packages imported (root paths)
	calls    []awsCall       // SDK operations
	// promqlPaths are the PromQL HTTP API endpoints (below /api/v1/) the
	// package requests, with positions; dynamic label paths appear as
	// "label/{name}/values".
	promqlPaths map[string][]token.Position
	// usesPromQL reports that the package builds /api/v1/ URLs at all, so
	// an empty promqlPaths means the extraction broke, not that there are
	// no calls.
	usesPromQL bool
}

func (a *analysis) actions() map[string][]token.Position {
	m := map[string][]token.Position{}
	for _, c := range a.calls {
		m[c.action] = append(m[c.action], c.pos)
	}
	return m
}

type listedPackage struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	CgoFiles   []string
	Imports    []string
	Export     string
	DepOnly    bool
	Error      *struct{ Err string }
}

var (
	listOnce sync.Once
	listed   map[string]*listedPackage
	listErr  error
)

// goList compiles (from the build cache, usually) and lists cloudwatchmcp
// (the module, its toolkit and its tool groups), cognitoauth and all their
// dependencies with their export data, which is what go/types needs to
// type-check our sources.
func goList() (map[string]*listedPackage, error) {
	listOnce.Do(func() {
		// go test puts the go command that runs it first in PATH.
		goTool, err := exec.LookPath("go")
		if err != nil {
			listErr = err
			return
		}
		cmd := exec.Command(goTool, "list", "-e", "-export", "-deps",
			"-json=ImportPath,Dir,GoFiles,CgoFiles,Imports,Export,DepOnly,Error",
			"./cloudwatchmcp/...", "./cognitoauth")
		cmd.Dir = filepath.Join("..", "..")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			listErr = fmt.Errorf("go list: %v\n%s", err, stderr.String())
			return
		}
		listed = map[string]*listedPackage{}
		dec := json.NewDecoder(bytes.NewReader(out))
		for {
			p := new(listedPackage)
			if err := dec.Decode(p); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				listErr = fmt.Errorf("decoding go list output: %v", err)
				return
			}
			listed[p.ImportPath] = p
		}
	})
	return listed, listErr
}

// analyzeTree analyzes rel and every package of ours below it (the
// cloudwatch_mcp module, its toolkit and its tool groups) as one.
func analyzeTree(t *testing.T, rel string) *analysis {
	t.Helper()
	pkgs, err := goList()
	if err != nil {
		t.Fatal(err)
	}
	root := modulePath + "/" + rel
	var paths []string
	for p, lp := range pkgs {
		if !lp.DepOnly && (p == root || strings.HasPrefix(p, root+"/")) {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	all := &analysis{pkg: root + "/...", services: map[string]bool{}, promqlPaths: map[string][]token.Position{}}
	for _, p := range paths {
		a := analyze(t, strings.TrimPrefix(p, modulePath+"/"))
		for svc := range a.services {
			all.services[svc] = true
		}
		all.calls = append(all.calls, a.calls...)
		for ep, pos := range a.promqlPaths {
			all.promqlPaths[ep] = append(all.promqlPaths[ep], pos...)
		}
		all.usesPromQL = all.usesPromQL || a.usesPromQL
	}
	return all
}

var (
	analysisMu    sync.Mutex
	analysisCache = map[string]*analysis{}
)

// analyze type-checks one package of ours (its non-test files) and collects
// every AWS operation it calls.
func analyze(t *testing.T, rel string) *analysis {
	t.Helper()
	analysisMu.Lock()
	defer analysisMu.Unlock()
	path := modulePath + "/" + rel
	if a, ok := analysisCache[path]; ok {
		return a
	}
	pkgs, err := goList()
	if err != nil {
		t.Fatal(err)
	}
	lp := pkgs[path]
	if lp == nil {
		t.Fatalf("go list did not report %s", path)
	}
	if lp.Error != nil {
		t.Fatalf("%s does not build: %s", path, lp.Error.Err)
	}
	if len(lp.CgoFiles) > 0 {
		t.Fatalf("%s uses cgo; the analysis reads only pure Go files", path)
	}

	overlay, err := goflagsOverlay()
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range lp.GoFiles {
		file := filepath.Join(lp.Dir, name)
		var src any
		if repl, ok := overlay[file]; ok {
			b, err := os.ReadFile(repl)
			if err != nil {
				t.Fatal(err)
			}
			src = b
		}
		f, err := parser.ParseFile(fset, file, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	imp := importer.ForCompiler(fset, "gc", func(p string) (io.ReadCloser, error) {
		dep := pkgs[p]
		if dep == nil || dep.Export == "" {
			return nil, fmt.Errorf("no export data for %s", p)
		}
		return os.Open(dep.Export)
	})
	info := &types.Info{
		Types:      map[ast.Expr]types.TypeAndValue{},
		Uses:       map[*ast.Ident]types.Object{},
		Selections: map[*ast.SelectorExpr]*types.Selection{},
	}
	conf := types.Config{Importer: imp}
	tpkg, err := conf.Check(path, fset, files, info)
	if err != nil {
		t.Fatalf("type-checking %s: %v", path, err)
	}

	a := &analysis{pkg: path, services: map[string]bool{}, promqlPaths: map[string][]token.Position{}}
	for _, imp := range lp.Imports {
		if serviceRootRE.MatchString(imp) {
			a.services[imp] = true
		}
	}

	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				// Method calls and method values: a method whose
				// parameters include *<service>.<Method>Input is that
				// operation, whether on the SDK client, an SDK
				// <Op>APIClient interface or a wrapper of ours.
				sel := info.Selections[n]
				if sel != nil && sel.Kind() == types.MethodVal {
					if fn, ok := sel.Obj().(*types.Func); ok {
						if prefix, ok := operationOf(fn); ok {
							a.calls = append(a.calls, awsCall{prefix + ":" + fn.Name(), fset.Position(n.Sel.Pos())})
						}
					}
				}
				// in.SourceIdentity = ...: a field that needs its own action.
				if sel != nil && sel.Kind() == types.FieldVal {
					if action, ok := impliedByField[fieldKey(sel.Recv(), sel.Obj().Name())]; ok {
						a.calls = append(a.calls, awsCall{action, fset.Position(n.Sel.Pos())})
					}
				}
			case *ast.Ident:
				// SDK paginators and waiters call the operation for us.
				fn, ok := info.Uses[n].(*types.Func)
				if !ok || fn.Pkg() == nil {
					break
				}
				prefix, isSDK := iamPrefix[fn.Pkg().Path()]
				if !isSDK || fn.Type().(*types.Signature).Recv() != nil {
					break
				}
				if m := paginatorRE.FindStringSubmatch(fn.Name()); m != nil {
					a.calls = append(a.calls, awsCall{prefix + ":" + m[1], fset.Position(n.Pos())})
				} else if strings.HasSuffix(fn.Name(), "Waiter") {
					t.Errorf("%s: SDK waiter %s.%s: map the operation it polls in this test", fset.Position(n.Pos()), fn.Pkg().Name(), fn.Name())
				}
			case *ast.BasicLit:
				if n.Kind != token.STRING {
					break
				}
				s := constantString(info, n)
				if strings.Contains(s, "/api/v1/") {
					a.usesPromQL = true
				}
				if strings.HasPrefix(s, "label/") {
					a.promqlPaths[promqlLabelValues] = append(a.promqlPaths[promqlLabelValues], fset.Position(n.Pos()))
				}
			case *ast.CallExpr:
				collectPromQLPath(fset, info, tpkg, n, a)
			case *ast.CompositeLit:
				// &sts.AssumeRoleInput{SourceIdentity: ...}
				if tv, ok := info.Types[n]; ok {
					for _, el := range n.Elts {
						if kv, ok := el.(*ast.KeyValueExpr); ok {
							if k, ok := kv.Key.(*ast.Ident); ok {
								if action, ok := impliedByField[fieldKey(tv.Type, k.Name)]; ok {
									a.calls = append(a.calls, awsCall{action, fset.Position(k.Pos())})
								}
							}
						}
					}
				}
				// promqlCall{path: "..."}-style literals.
				if named, ok := info.Types[n].Type.(*types.Named); !ok || !strings.HasPrefix(strings.ToLower(named.Obj().Name()), "promql") {
					break
				}
				for _, el := range n.Elts {
					kv, ok := el.(*ast.KeyValueExpr)
					if !ok {
						continue
					}
					if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "path" {
						if s, ok := constantValue(info, kv.Value); ok {
							a.promqlPaths[s] = append(a.promqlPaths[s], fset.Position(kv.Value.Pos()))
						}
					}
				}
			}
			return true
		})
	}
	analysisCache[path] = a
	return a
}

// goflagsOverlay reads the -overlay file named in GOFLAGS, which the child
// go list honours too, so the parsed sources match what it listed (the
// team hides half-edited files that way).
func goflagsOverlay() (map[string]string, error) {
	for _, f := range strings.Fields(os.Getenv("GOFLAGS")) {
		path, ok := strings.CutPrefix(f, "-overlay=")
		if !ok {
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		var o struct{ Replace map[string]string }
		if err := json.Unmarshal(b, &o); err != nil {
			return nil, fmt.Errorf("overlay %s: %v", path, err)
		}
		return o.Replace, nil
	}
	return nil, nil
}

// impliedByField lists request fields that need an IAM action besides the
// operation's own (IAM user guide: session tags, source identity, trusted
// context providers).
var impliedByField = map[string]string{
	sdkService + "sts.AssumeRoleInput.SourceIdentity":    "sts:SetSourceIdentity",
	sdkService + "sts.AssumeRoleInput.Tags":              "sts:TagSession",
	sdkService + "sts.AssumeRoleInput.TransitiveTagKeys": "sts:TagSession",
	sdkService + "sts.AssumeRoleInput.ProvidedContexts":  "sts:SetContext",
}

// fieldKey names field of struct type t (or *t) as "<pkg path>.<Type>.<field>".
func fieldKey(t types.Type, field string) string {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	named, ok := t.(*types.Named)
	if !ok || named.Obj().Pkg() == nil {
		return ""
	}
	return named.Obj().Pkg().Path() + "." + named.Obj().Name() + "." + field
}

var paginatorRE = regexp.MustCompile(`^New(\w+)Paginator$`)

// operationOf reports the IAM prefix when fn is an AWS operation: its name
// is Op and it takes a *<sdk service>.OpInput.
func operationOf(fn *types.Func) (string, bool) {
	sig, ok := fn.Type().(*types.Signature)
	if !ok {
		return "", false
	}
	for i := 0; i < sig.Params().Len(); i++ {
		ptr, ok := sig.Params().At(i).Type().(*types.Pointer)
		if !ok {
			continue
		}
		named, ok := ptr.Elem().(*types.Named)
		if !ok || named.Obj().Pkg() == nil {
			continue
		}
		prefix, ok := iamPrefix[named.Obj().Pkg().Path()]
		if ok && named.Obj().Name() == fn.Name()+"Input" {
			return prefix, true
		}
	}
	return "", false
}

// collectPromQLPath records constant arguments given to a `path` parameter
// of our own promql* functions (promqlFor, promqlQueryCall, ...): that is
// how the tools name the PromQL endpoint they request.
func collectPromQLPath(fset *token.FileSet, info *types.Info, own *types.Package, call *ast.CallExpr, a *analysis) {
	var id *ast.Ident
	switch fun := call.Fun.(type) {
	case *ast.Ident:
		id = fun
	case *ast.SelectorExpr:
		id = fun.Sel
	default:
		return
	}
	fn, ok := info.Uses[id].(*types.Func)
	if !ok || fn.Pkg() != own || !strings.HasPrefix(strings.ToLower(fn.Name()), "promql") {
		return
	}
	sig := fn.Type().(*types.Signature)
	for i := 0; i < sig.Params().Len() && i < len(call.Args); i++ {
		p := sig.Params().At(i)
		if p.Name() != "path" {
			continue
		}
		if s, ok := constantValue(info, call.Args[i]); ok {
			a.promqlPaths[s] = append(a.promqlPaths[s], fset.Position(call.Args[i].Pos()))
		}
	}
}

func constantValue(info *types.Info, e ast.Expr) (string, bool) {
	tv, ok := info.Types[e]
	if !ok || tv.Value == nil || tv.Value.Kind() != constant.String {
		return "", false
	}
	return constant.StringVal(tv.Value), true
}

func constantString(info *types.Info, e ast.Expr) string {
	s, _ := constantValue(info, e)
	return s
}

const promqlLabelValues = "label/{name}/values"

// promqlActions maps each CloudWatch PromQL HTTP endpoint to the IAM
// actions AWS documents for it (CloudWatch user guide, "Prometheus-
// compatible APIs": QueryMetrics needs both, GetSeries and GetLabels need
// ListMetrics). There is no PromQL-specific action: the endpoint is
// authorised as ordinary CloudWatch reads.
var promqlActions = map[string][]string{
	"query":           {"cloudwatch:GetMetricData", "cloudwatch:ListMetrics"}, // QueryMetrics
	"query_range":     {"cloudwatch:GetMetricData", "cloudwatch:ListMetrics"}, // QueryMetrics
	"series":          {"cloudwatch:ListMetrics"},                             // GetSeries
	"labels":          {"cloudwatch:ListMetrics"},                             // GetLabels
	promqlLabelValues: {"cloudwatch:ListMetrics"},                             // GetLabels
}

// resourceScope is, for every IAM action the tools call, the resource
// type IAM can scope it by, from the Service Authorization Reference
// ("Actions, resources, and condition keys", the Resource types column):
// "" means the action has none, so its statement must say "*". Actions
// scoped by log group must be granted only on the log groups the stack's
// LogGroupNamePrefix names. A new action fails the policy test until it
// is classified here.
var resourceScope = map[string]string{
	"logs:StartQuery":                 "log-group",
	"logs:GetQueryResults":            "log-group",
	"logs:FilterLogEvents":            "log-group",
	"logs:StartLiveTail":              "log-group",
	"logs:DescribeAccountPolicies":    "",
	"logs:DescribeIndexPolicies":      "",
	"logs:DescribeLogGroups":          "",
	"logs:DescribeQueries":            "",
	"logs:DescribeQueryDefinitions":   "",
	"logs:StopQuery":                  "",
	"logs:GetLogRecord":               "", // the pointer names the log group; IAM has no resource for it
	"logs:ListAnomalies":              "anomaly-detector",
	"logs:ListLogAnomalyDetectors":    "anomaly-detector",
	"cloudwatch:GetMetricData":        "",
	"cloudwatch:GetMetricWidgetImage": "",
	"cloudwatch:ListMetrics":          "",
	"cloudwatch:DescribeAlarms":       "alarm",
	"cloudwatch:DescribeAlarmHistory": "alarm",
	"sts:AssumeRole":                  "role",
	"sts:SetSourceIdentity":           "role",
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

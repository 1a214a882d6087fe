package cloudformation

import (
	"encoding/json"
	"fmt"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// templateFile is the template under test; tests may point it elsewhere.
const templateFile = "template.json"

type cfnTemplate struct {
	AWSTemplateFormatVersion string
	Description              string
	Parameters               map[string]map[string]any
	Conditions               map[string]any
	Resources                map[string]cfnResource
	Outputs                  map[string]cfnOutput
}

type cfnResource struct {
	Type                string
	Condition           string
	DependsOn           any
	DeletionPolicy      string
	UpdateReplacePolicy string
	Properties          map[string]any
}

type cfnOutput struct {
	Description string
	Condition   string
	Value       any
}

func loadTemplate(t *testing.T) *cfnTemplate {
	t.Helper()
	b, err := os.ReadFile(templateFile)
	if err != nil {
		t.Fatal(err)
	}
	var tpl cfnTemplate
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&tpl); err != nil {
		t.Fatalf("%s: %v", templateFile, err)
	}
	return &tpl
}

// policyStatement is an IAM statement after normalising Action to a list.
type policyStatement struct {
	Sid       string
	Effect    string
	Actions   []string
	Principal any
	Resource  any
	Condition map[string]any
}

func statements(t *testing.T, doc any, where string) []policyStatement {
	t.Helper()
	m, ok := doc.(map[string]any)
	if !ok {
		t.Fatalf("%s: policy document is not an object", where)
	}
	if m["Version"] != "2012-10-17" {
		t.Errorf("%s: policy Version = %v, want 2012-10-17 (older versions disable policy variables)", where, m["Version"])
	}
	raw, ok := m["Statement"].([]any)
	if !ok {
		t.Fatalf("%s: Statement is not a list", where)
	}
	var out []policyStatement
	for i, r := range raw {
		s, ok := r.(map[string]any)
		if !ok {
			t.Fatalf("%s: statement %d is not an object", where, i)
		}
		if _, ok := s["NotAction"]; ok {
			t.Errorf("%s: statement %d uses NotAction; list the actions", where, i)
		}
		st := policyStatement{Principal: s["Principal"], Resource: s["Resource"]}
		st.Sid, _ = s["Sid"].(string)
		st.Effect, _ = s["Effect"].(string)
		st.Condition, _ = s["Condition"].(map[string]any)
		switch a := s["Action"].(type) {
		case string:
			st.Actions = []string{a}
		case []any:
			for _, x := range a {
				str, ok := x.(string)
				if !ok {
					t.Fatalf("%s: statement %d: Action entry %v is not a string", where, i, x)
				}
				st.Actions = append(st.Actions, str)
			}
		default:
			t.Fatalf("%s: statement %d: Action is %T", where, i, a)
		}
		out = append(out, st)
	}
	return out
}

// allowedActions is the set of actions a managed policy allows, failing on
// wildcards: a wildcard would make the drift check pass vacuously.
func allowedActions(t *testing.T, tpl *cfnTemplate, logical string) map[string]bool {
	t.Helper()
	r, ok := tpl.Resources[logical]
	if !ok {
		t.Fatalf("template has no resource %s", logical)
	}
	if r.Type != "AWS::IAM::ManagedPolicy" {
		t.Fatalf("%s is %s, want AWS::IAM::ManagedPolicy", logical, r.Type)
	}
	set := map[string]bool{}
	for _, st := range statements(t, r.Properties["PolicyDocument"], logical) {
		if st.Effect != "Allow" {
			continue
		}
		for _, a := range st.Actions {
			if strings.ContainsAny(a, "*?") {
				t.Errorf("%s: wildcard action %q: list each action so the policy stays least-privilege and checkable", logical, a)
			}
			set[a] = true
		}
	}
	return set
}

func positions(ps []token.Position) string {
	var s []string
	for _, p := range ps {
		s = append(s, fmt.Sprintf("%s:%d", filepath.Base(p.Filename), p.Line))
	}
	sort.Strings(s)
	if len(s) > 3 {
		s = append(s[:3], "...")
	}
	return strings.Join(s, ", ")
}

// requiredToolActions is every IAM action the cloudwatch_mcp tools need:
// the SDK operations they call plus the PromQL endpoints they request.
func requiredToolActions(t *testing.T) map[string][]token.Position {
	t.Helper()
	a := analyzeTree(t, "cloudwatchmcp")
	for svc := range a.services {
		if _, ok := iamPrefix[svc]; !ok {
			t.Errorf("cloudwatchmcp imports %s, which this test cannot map to IAM actions: add it to iamPrefix and the policy", svc)
		}
	}
	req := a.actions()
	// STS GetCallerIdentity (the account of a caller's credentials, for
	// the Insights polling budget) needs no permission: AWS allows it even
	// under an explicit deny.
	delete(req, "sts:GetCallerIdentity")
	for _, prefix := range []string{"logs:", "cloudwatch:"} {
		n := 0
		for action := range req {
			if strings.HasPrefix(action, prefix) {
				n++
			}
		}
		if n == 0 {
			t.Fatalf("found no %s* calls in cloudwatchmcp: the source analysis is broken, not the policy", prefix)
		}
	}
	if a.usesPromQL && len(a.promqlPaths) == 0 {
		t.Fatal("cloudwatchmcp builds /api/v1/ URLs but no PromQL endpoint was found: the source analysis is broken")
	}
	for _, ep := range sortedKeys(a.promqlPaths) {
		actions, ok := promqlActions[ep]
		if !ok {
			t.Errorf("%s: PromQL endpoint %q has no known IAM actions: look them up in the CloudWatch PromQL API docs and add them to promqlActions and the policy", positions(a.promqlPaths[ep]), ep)
			continue
		}
		for _, act := range actions {
			req[act] = append(req[act], a.promqlPaths[ep]...)
		}
	}
	return req
}

// toolPolicies routes each IAM prefix the tools need to the template policy
// that must grant it: CloudWatch reads go to the role every user gets, STS
// (cross-account chaining) to the policy added when account roles are set.
var toolPolicies = map[string]string{
	"logs":       "CloudWatchReadPolicy",
	"cloudwatch": "CloudWatchReadPolicy",
	"sts":        "AccountChainingPolicy",
}

// TestPolicyHasEveryActionTheToolsCall is the drift guard: an AWS call added
// to cloudwatchmcp without its action in the template fails here, and so
// does an action in the template that no code needs.
func TestPolicyHasEveryActionTheToolsCall(t *testing.T) {
	tpl := loadTemplate(t)
	need := requiredToolActions(t)

	// Which policy each action belongs to.
	want := map[string]map[string][]token.Position{}
	for action, pos := range need {
		prefix, _, _ := strings.Cut(action, ":")
		policy, ok := toolPolicies[prefix]
		if !ok {
			t.Errorf("cloudwatchmcp needs %s (at %s), but no template policy is meant to grant %s:* actions: add one and map it in toolPolicies", action, positions(pos), prefix)
			continue
		}
		if want[policy] == nil {
			want[policy] = map[string][]token.Position{}
		}
		want[policy][action] = pos
	}
	for _, policy := range sortedKeys(toolPoliciesSet()) {
		if _, exists := tpl.Resources[policy]; !exists && want[policy] == nil {
			continue
		}
		if want[policy] == nil {
			t.Errorf("template has %s, but cloudwatchmcp calls none of its actions any more: remove it", policy)
			continue
		}
		have := allowedActions(t, tpl, policy)
		for _, action := range sortedKeys(want[policy]) {
			if !have[action] {
				t.Errorf("%s lacks %s, which cloudwatchmcp needs at %s", policy, action, positions(want[policy][action]))
			}
		}
		for _, action := range sortedKeys(have) {
			if _, ok := want[policy][action]; !ok {
				t.Errorf("%s allows %s, which no cloudwatchmcp code needs: remove it (least privilege)", policy, action)
			}
		}
		if !attachedTo(tpl, "AuthenticatedRole", policy) {
			t.Errorf("%s is not attached to AuthenticatedRole, the role users are vended", policy)
		}
	}
	if !t.Failed() {
		t.Logf("template grants exactly the %d actions the tools need: %s", len(need), strings.Join(sortedKeys(need), " "))
	}
}

func toolPoliciesSet() map[string]bool {
	m := map[string]bool{}
	for _, p := range toolPolicies {
		m[p] = true
	}
	return m
}

// attachedTo reports whether role lists policy in ManagedPolicyArns, plainly
// or under a Fn::If.
func attachedTo(tpl *cfnTemplate, role, policy string) bool {
	arns, _ := tpl.Resources[role].Properties["ManagedPolicyArns"].([]any)
	for _, a := range arns {
		if refersTo(a, policy) {
			return true
		}
		if m, ok := a.(map[string]any); ok {
			if l, ok := m["Fn::If"].([]any); ok && len(l) == 3 && (refersTo(l[1], policy) || refersTo(l[2], policy)) {
				return true
			}
		}
	}
	return false
}

// awslabsREADME is the permission list in the README of awslabs'
// cloudwatch-mcp-server (reference notes, section 4).
var awslabsREADME = []string{
	"cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmHistory", "cloudwatch:GetMetricData",
	"cloudwatch:ListMetrics", "logs:DescribeLogGroups", "logs:DescribeQueryDefinitions",
	"logs:ListLogAnomalyDetectors", "logs:ListAnomalies", "logs:StartQuery",
	"logs:GetQueryResults", "logs:StopQuery",
}

// TestAwslabsREADMEMissesThreeActions pins the documented gap: a policy
// copied from the awslabs README breaks the index tools and the batch
// Insights tool. If this count changes, update the README text too. The
// tools beyond awslabs (PARITY.md) need actions of their own, listed
// apart.
func TestAwslabsREADMEMissesThreeActions(t *testing.T) {
	need := requiredToolActions(t)
	listed := map[string]bool{}
	for _, a := range awslabsREADME {
		listed[a] = true
	}
	var missing []string
	for _, a := range sortedKeys(need) {
		if strings.HasPrefix(a, "sts:") {
			continue // cross-account chaining: awslabs has no such feature
		}
		if !listed[a] {
			missing = append(missing, a)
		}
	}
	want := []string{"logs:DescribeAccountPolicies", "logs:DescribeIndexPolicies", "logs:DescribeQueries"}
	want = append(want, beyondAwslabsActions...)
	sort.Strings(want)
	if strings.Join(missing, " ") != strings.Join(want, " ") {
		t.Errorf("actions the tools call that the awslabs README omits = %v, want %v", missing, want)
	}
}

// beyondAwslabsActions are called only by the tools awslabs does not have
// (PARITY.md, "Tools beyond awslabs").
var beyondAwslabsActions = []string{"logs:FilterLogEvents", "logs:GetLogRecord", "logs:StartLiveTail", "cloudwatch:GetMetricWidgetImage"}

// publicCognitoIdentityOps need no AWS credentials: the identity pool
// authorises them by the login token itself.
var publicCognitoIdentityOps = map[string]bool{
	"cognito-identity:GetId":                     true,
	"cognito-identity:GetCredentialsForIdentity": true,
	"cognito-identity:GetOpenIdToken":            true,
	"cognito-identity:UnlinkIdentity":            true,
}

// TestVendingPolicyMatchesIdentityPoolCalls checks the identity-pool side of
// cognito_auth: every cognito-identity call it makes is either public or in
// DeveloperVendingPolicy (the server's own permission), and nothing more.
func TestVendingPolicyMatchesIdentityPoolCalls(t *testing.T) {
	tpl := loadTemplate(t)
	a := analyze(t, "cognitoauth")
	for svc := range a.services {
		if _, ok := iamPrefix[svc]; !ok {
			t.Errorf("cognitoauth imports %s, which this test cannot map to IAM actions", svc)
		}
	}
	calls := a.actions()
	for _, op := range []string{"cognito-identity:GetId", "cognito-identity:GetCredentialsForIdentity"} {
		if _, ok := calls[op]; !ok {
			t.Fatalf("found no %s call in cognitoauth: the source analysis is broken", op)
		}
	}
	have := allowedActions(t, tpl, "DeveloperVendingPolicy")
	signed := map[string]bool{}
	for action := range calls {
		if strings.HasPrefix(action, "cognito-identity:") && !publicCognitoIdentityOps[action] {
			signed[action] = true
			if !have[action] {
				t.Errorf("DeveloperVendingPolicy lacks %s, which cognitoauth calls with the server's credentials at %s", action, positions(calls[action]))
			}
		}
	}
	for action := range have {
		if !signed[action] {
			t.Errorf("DeveloperVendingPolicy allows %s, which cognitoauth never calls signed", action)
		}
	}
	if len(signed) == 0 {
		t.Error("cognitoauth makes no signed cognito-identity call; DeveloperVendingPolicy is obsolete")
	}
}

// TestTemplateWiring checks what a deploy would only reveal late: every
// Ref/GetAtt/Sub names something that exists, the role trusts only this
// identity pool's authenticated identities, and the outputs carry what
// examples/Caddyfile reads.
func TestTemplateWiring(t *testing.T) {
	tpl := loadTemplate(t)
	if tpl.AWSTemplateFormatVersion != "2010-09-09" {
		t.Errorf("AWSTemplateFormatVersion = %q", tpl.AWSTemplateFormatVersion)
	}
	known := map[string]bool{}
	for name := range tpl.Parameters {
		known[name] = true
	}
	for name := range tpl.Resources {
		if known[name] {
			t.Errorf("%s is both a parameter and a resource", name)
		}
		known[name] = true
	}
	pseudo := func(s string) bool { return strings.HasPrefix(s, "AWS::") }

	var walk func(where string, v any)
	walk = func(where string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				switch k {
				case "Ref":
					if s, _ := x.(string); !known[s] && !pseudo(s) {
						t.Errorf("%s: Ref to unknown %q", where, s)
					}
				case "Fn::GetAtt":
					l, _ := x.([]any)
					if len(l) != 2 {
						t.Errorf("%s: Fn::GetAtt needs [resource, attribute], got %v", where, x)
					} else if s, _ := l[0].(string); tpl.Resources[s].Type == "" {
						t.Errorf("%s: Fn::GetAtt of unknown resource %q", where, s)
					}
				case "Fn::Sub":
					s, ok := x.(string)
					if !ok {
						t.Errorf("%s: use the string form of Fn::Sub", where)
						break
					}
					for _, m := range subVarRE.FindAllStringSubmatch(s, -1) {
						name, _, _ := strings.Cut(m[1], ".")
						if !known[name] && !pseudo(m[1]) {
							t.Errorf("%s: Fn::Sub variable ${%s} names nothing", where, m[1])
						}
					}
				case "Fn::If":
					l, _ := x.([]any)
					if len(l) != 3 {
						t.Errorf("%s: Fn::If needs 3 items", where)
					} else if c, _ := l[0].(string); tpl.Conditions[c] == nil {
						t.Errorf("%s: Fn::If on unknown condition %q", where, c)
					}
				}
				walk(where+"."+k, x)
			}
		case []any:
			for i, x := range v {
				walk(fmt.Sprintf("%s[%d]", where, i), x)
			}
		}
	}
	for name, r := range tpl.Resources {
		if r.Condition != "" && tpl.Conditions[r.Condition] == nil {
			t.Errorf("%s: unknown condition %q", name, r.Condition)
		}
		walk(name, r.Properties)
	}
	for name, o := range tpl.Outputs {
		walk("Outputs."+name, o.Value)
	}

	// The identity pool trusts exactly this user pool and app client.
	ip := tpl.Resources["IdentityPool"]
	if ip.Properties["AllowUnauthenticatedIdentities"] != false {
		t.Error("IdentityPool must not allow unauthenticated identities")
	}
	if ip.Properties["AllowClassicFlow"] != false {
		t.Error("IdentityPool: cognito_auth uses the enhanced flow; keep the classic (basic) flow off")
	}
	providers, _ := ip.Properties["CognitoIdentityProviders"].([]any)
	if len(providers) != 1 {
		t.Fatalf("IdentityPool has %d Cognito providers, want 1", len(providers))
	}
	p := providers[0].(map[string]any)
	if !refersTo(p["ClientId"], "UserPoolClient") || !refersTo(p["ProviderName"], "UserPool") {
		t.Errorf("IdentityPool provider = %v, want this stack's UserPool and UserPoolClient", p)
	}

	// The authenticated role: assumable only through this identity pool,
	// only by authenticated identities, and carrying the tools' policy.
	role := tpl.Resources["AuthenticatedRole"]
	trust := statements(t, role.Properties["AssumeRolePolicyDocument"], "AuthenticatedRole trust policy")
	if len(trust) != 1 {
		t.Fatalf("AuthenticatedRole trust policy has %d statements, want 1", len(trust))
	}
	st := trust[0]
	if fed, _ := st.Principal.(map[string]any); fed["Federated"] != "cognito-identity.amazonaws.com" {
		t.Errorf("trust principal = %v, want Federated cognito-identity.amazonaws.com", st.Principal)
	}
	if strings.Join(st.Actions, ",") != "sts:AssumeRoleWithWebIdentity" {
		t.Errorf("trust actions = %v, want only sts:AssumeRoleWithWebIdentity", st.Actions)
	}
	eq, _ := st.Condition["StringEquals"].(map[string]any)
	if !refersTo(eq["cognito-identity.amazonaws.com:aud"], "IdentityPool") {
		t.Errorf("trust policy must pin cognito-identity.amazonaws.com:aud to the IdentityPool; without it any identity pool in any account could assume the role: %v", st.Condition)
	}
	amr, _ := st.Condition["ForAnyValue:StringLike"].(map[string]any)
	if amr["cognito-identity.amazonaws.com:amr"] != "authenticated" {
		t.Errorf("trust policy must require amr=authenticated: %v", st.Condition)
	}
	if !attachedTo(tpl, "AuthenticatedRole", "CloudWatchReadPolicy") {
		t.Error("AuthenticatedRole does not carry CloudWatchReadPolicy")
	}
	att := tpl.Resources["IdentityPoolRoles"]
	if roles, _ := att.Properties["Roles"].(map[string]any); !refersTo(roles["authenticated"], "AuthenticatedRole") || roles["unauthenticated"] != nil {
		t.Errorf("IdentityPoolRoles.Roles = %v, want authenticated = AuthenticatedRole only", att.Properties["Roles"])
	}

	// Every {$VAR} examples/Caddyfile reads from Cognito is an output.
	caddyfile, err := os.ReadFile(filepath.Join("..", "Caddyfile"))
	if err != nil {
		t.Fatal(err)
	}
	described := map[string]bool{}
	for _, o := range tpl.Outputs {
		described[o.Description] = true
	}
	env := fmt.Sprint(tpl.Outputs["CaddyEnv"].Value)
	for _, m := range regexp.MustCompile(`\{\$(AWS_COGNITO_\w+)`).FindAllStringSubmatch(string(caddyfile), -1) {
		if !described[m[1]] {
			t.Errorf("examples/Caddyfile reads %s but no output is described as it", m[1])
		}
		if !strings.Contains(env, m[1]+"=") {
			t.Errorf("output CaddyEnv does not export %s", m[1])
		}
	}
}

var subVarRE = regexp.MustCompile(`\$\{([^}!][^}]*)\}`)

// refersTo reports whether v is {"Ref": name} or {"Fn::GetAtt": [name, ...]}.
func refersTo(v any, name string) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	if m["Ref"] == name {
		return true
	}
	if l, ok := m["Fn::GetAtt"].([]any); ok && len(l) == 2 && l[0] == name {
		return true
	}
	return false
}

// TestInsightsOnlyOnTheChosenLogGroups: the actions IAM can scope by log
// group (Logs Insights StartQuery and GetQueryResults) are granted only on
// the log groups LogGroupNamePrefix names, and "Resource": "*" carries
// only actions IAM cannot scope by log group. Every action the tools call
// must be classified in resourceScope.
func TestInsightsOnlyOnTheChosenLogGroups(t *testing.T) {
	tpl := loadTemplate(t)
	for _, action := range sortedKeys(requiredToolActions(t)) {
		if _, ok := resourceScope[action]; !ok {
			t.Errorf("%s has no entry in resourceScope: look up its resource types in the Service Authorization Reference", action)
		}
	}
	scoped := 0
	for _, st := range statements(t, tpl.Resources["CloudWatchReadPolicy"].Properties["PolicyDocument"], "CloudWatchReadPolicy") {
		everywhere := st.Resource == "*"
		for _, action := range st.Actions {
			if resourceScope[action] != "log-group" {
				continue
			}
			scoped++
			if everywhere {
				t.Errorf("statement %s grants %s on every log group (\"Resource\": \"*\"); grant it on the LogGroupNamePrefix log groups", st.Sid, action)
				continue
			}
			for _, arn := range resourceStrings(st.Resource) {
				if !strings.Contains(arn, ":log-group:") {
					t.Errorf("statement %s grants %s on %q, which is not a log group ARN", st.Sid, action, arn)
				}
			}
			if !mentions(st.Resource, "LogGroupNamePrefix") {
				t.Errorf("statement %s grants %s on log groups that do not depend on LogGroupNamePrefix: %v", st.Sid, action, st.Resource)
			}
		}
	}
	if scoped == 0 {
		t.Fatal("CloudWatchReadPolicy grants no log-group-scoped action: logs:StartQuery is missing")
	}

	p := tpl.Parameters["LogGroupNamePrefix"]
	if p == nil {
		t.Fatal("template has no LogGroupNamePrefix parameter")
	}
	if _, ok := p["Default"]; ok {
		t.Error("LogGroupNamePrefix has a Default: the whole account must be a choice the deployer makes explicitly (*)")
	}
	pattern, _ := p["AllowedPattern"].(string)
	re, err := regexp.Compile(pattern)
	if err != nil {
		t.Fatalf("LogGroupNamePrefix AllowedPattern %q: %v", pattern, err)
	}
	for v, want := range map[string]bool{"/aws/lambda/": true, "/app/prod": true, "*": true, "": false, "/aws/*": false, "a b": false} {
		if re.MatchString(v) != want {
			t.Errorf("LogGroupNamePrefix %q accepted = %v, want %v", v, !want, want)
		}
	}
}

// resourceStrings returns the ARN templates in a Resource value: plain
// strings, Fn::Sub strings and both branches of Fn::If.
func resourceStrings(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			out = append(out, resourceStrings(x)...)
		}
		return out
	case map[string]any:
		if s, ok := v["Fn::Sub"].(string); ok {
			return []string{s}
		}
		if l, ok := v["Fn::If"].([]any); ok && len(l) == 3 {
			return append(resourceStrings(l[1]), resourceStrings(l[2])...)
		}
	}
	return []string{fmt.Sprint(v)}
}

// mentions reports whether v refers to parameter name, through a Ref, a
// ${name} in Fn::Sub or a condition on it.
func mentions(v any, name string) bool {
	switch v := v.(type) {
	case string:
		return strings.Contains(v, "${"+name+"}")
	case []any:
		for _, x := range v {
			if mentions(x, name) {
				return true
			}
		}
	case map[string]any:
		for k, x := range v {
			if k == "Ref" && x == name || mentions(x, name) {
				return true
			}
		}
	}
	return false
}

// TestUserPoolIsHardToLose: the user pool holds every user and their MFA
// devices. Deleting the stack, or an update that replaces the pool, must
// not delete it, and neither may an API call without first switching
// deletion protection off.
func TestUserPoolIsHardToLose(t *testing.T) {
	pool := loadTemplate(t).Resources["UserPool"]
	if pool.DeletionPolicy != "Retain" {
		t.Errorf("UserPool DeletionPolicy = %q, want Retain", pool.DeletionPolicy)
	}
	if pool.UpdateReplacePolicy != "Retain" {
		t.Errorf("UserPool UpdateReplacePolicy = %q, want Retain", pool.UpdateReplacePolicy)
	}
	if got := pool.Properties["DeletionProtection"]; got != "ACTIVE" {
		t.Errorf("UserPool DeletionProtection = %v, want ACTIVE", got)
	}
}

// TestUserPoolOffersMFA: users can turn on TOTP (software token) MFA; it is
// optional so the first sign-in works without a device.
func TestUserPoolOffersMFA(t *testing.T) {
	props := loadTemplate(t).Resources["UserPool"].Properties
	if got := props["MfaConfiguration"]; got != "OPTIONAL" {
		t.Errorf("UserPool MfaConfiguration = %v, want OPTIONAL", got)
	}
	mfas, _ := props["EnabledMfas"].([]any)
	found := false
	for _, m := range mfas {
		found = found || m == "SOFTWARE_TOKEN_MFA"
	}
	if !found {
		t.Errorf("UserPool EnabledMfas = %v, want SOFTWARE_TOKEN_MFA", props["EnabledMfas"])
	}
}

// TestPasswordAuthIsOptIn: USER_PASSWORD_AUTH sends the password itself to
// Cognito; it is for scripts and tests, so a deployer turns it on, never
// gets it by default.
func TestPasswordAuthIsOptIn(t *testing.T) {
	tpl := loadTemplate(t)
	if got := tpl.Parameters["AllowPasswordAuth"]["Default"]; got != "false" {
		t.Errorf("AllowPasswordAuth Default = %v, want false", got)
	}
	flows, _ := tpl.Resources["UserPoolClient"].Properties["ExplicitAuthFlows"].(map[string]any)
	branches, _ := flows["Fn::If"].([]any)
	if len(branches) != 3 || branches[0] != "PasswordAuth" {
		t.Fatalf("UserPoolClient ExplicitAuthFlows = %v, want Fn::If on PasswordAuth", flows)
	}
	if strings.Contains(fmt.Sprint(branches[2]), "ALLOW_USER_PASSWORD_AUTH") {
		t.Errorf("without AllowPasswordAuth the client still allows USER_PASSWORD_AUTH: %v", branches[2])
	}
}

package logs

import (
	"fmt"
	"sort"
	"strings"
	"testing"
)

// u is a compact expectation: "name=e" equality, "name=n" non-equality,
// "name=d" display.
func u(specs ...string) map[string]fieldUse {
	m := map[string]fieldUse{}
	for _, s := range specs {
		name, kind, _ := strings.Cut(s, "=")
		switch kind {
		case "e":
			m[name] = fieldEquality
		case "n":
			m[name] = fieldNonEquality
		case "d":
			m[name] = fieldDisplay
		default:
			panic("bad spec " + s)
		}
	}
	return m
}

func fmtUses(m map[string]fieldUse) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s=%s", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

func TestQueryFieldsParserTable(t *testing.T) {
	cases := []struct {
		name, lang, query string
		want              map[string]fieldUse
	}{
		// --- CWLI ---
		{"cwli recent errors", "CWLI",
			`fields @timestamp, @message | filter @message like /ERROR/ | sort @timestamp desc | limit 20`,
			u("@timestamp=d", "@message=n")},
		{"cwli equality filter", "CWLI",
			`fields @timestamp, requestId | filter level = "ERROR" | limit 100`,
			u("@timestamp=d", "requestId=d", "level=e")},
		{"cwli double equals", "CWLI",
			`filter status == 500 | fields @timestamp, path`,
			u("status=e", "@timestamp=d", "path=d")},
		{"cwli filterIndex", "CWLI",
			`filterIndex requestId = "0f3c-11" | fields @timestamp, @message`,
			u("requestId=e", "@timestamp=d", "@message=d")},
		{"cwli filterIndex in", "CWLI",
			`filterIndex transactionId in ["a1", "b2"] | fields @message`,
			u("transactionId=e", "@message=d")},
		{"cwli in list", "CWLI",
			`filter level in ["ERROR", "WARN"] | stats count(*) by level`,
			u("level=e")},
		{"cwli not in", "CWLI",
			`filter region not in ["us-east-1"] | fields region, host`,
			u("region=n", "host=d")},
		{"cwli and/or compound", "CWLI",
			`filter service = "checkout" and env = "prod" or tenant = "t-1" | limit 50`,
			u("service=e", "env=e", "tenant=e")},
		{"cwli mixed comparisons", "CWLI",
			`filter statusCode >= 500 and latencyMs > 1000 and method != "GET" | fields url`,
			u("statusCode=n", "latencyMs=n", "method=n", "url=d")},
		{"cwli equality beats like", "CWLI",
			`filter userId like /^admin/ | filter userId = "admin-1"`,
			u("userId=e")},
		{"cwli stats by bin", "CWLI",
			`stats count(*) as requests by bin(5m), host | sort requests desc`,
			u("host=d")},
		{"cwli stats multi agg", "CWLI",
			`stats avg(duration), max(latency), pct(latency, 99) by service, operation`,
			u("service=d", "operation=d")},
		{"cwli count_distinct", "CWLI",
			`stats count_distinct(clientIp) as uniq by country`,
			u("country=d")},
		{"cwli parse glob aliases", "CWLI",
			`parse @message "* [*] *" as loggingTime, loggingType, loggingMessage | filter loggingType = "ERROR" | display loggingMessage`,
			u()},
		{"cwli parse regex named captures", "CWLI",
			`parse @message /user=(?<user>\S+) ip=(?<ip>\S+)/ | filter user = "bob" | stats count(*) by ip, region`,
			u("region=d")},
		{"cwli sort multiple keys", "CWLI",
			`fields @timestamp, shard | sort shard asc, @timestamp desc`,
			u("@timestamp=d", "shard=d")},
		{"cwli comments and strings", "CWLI",
			"# find the slow ones\nfields path # , secretField\n| filter message like \"orderId = 5\" | limit 5",
			u("path=d", "message=n")},
		{"cwli arithmetic is not a regex", "CWLI",
			`fields bytes/1024 as kb, host | filter bytes > 0`,
			u("bytes=n", "host=d")},
		{"cwli nested json fields", "CWLI",
			`filter detail.eventName = "RunInstances" and userIdentity.arn like /admin/ | fields detail.requestParameters.instanceType`,
			u("detail.eventName=e", "userIdentity.arn=n", "detail.requestParameters.instanceType=d")},
		{"cwli parentheses", "CWLI",
			`filter (customerId = "c-9" or orderId = "o-1") and ispresent(traceparent)`,
			u("customerId=e", "orderId=e")},
		{"cwli lambda generated @fields", "CWLI",
			`filter @type = "REPORT" | stats max(@memorySize / 1000 / 1000) as provisonedMemoryMB, avg(@duration) by @requestId`,
			u("@type=e", "@requestId=d")},
		{"cwli @field equality", "CWLI",
			`filter @requestId = "8c1e" | fields @timestamp, @message, @logStream`,
			u("@requestId=e", "@timestamp=d", "@message=d", "@logStream=d")},
		{"cwli custom @field", "CWLI",
			`filter @userId = "u-1" | fields @userId, @message`,
			u("@userId=e", "@message=d")},
		{"cwli dedup", "CWLI",
			`fields @timestamp, server | dedup server | sort @timestamp desc`,
			u("@timestamp=d", "server=d")},
		{"cwli regex operator", "CWLI",
			`filter @message =~ /timeout/ and path =~ /api/ | fields traceId`,
			u("@message=n", "path=n", "traceId=d")},
		{"cwli SOURCE prefix", "CWLI",
			`SOURCE logGroups(namePrefix: ["/aws/lambda"]) START=-1h END=0 | filter level = "ERROR" | fields @message`,
			u("level=e", "@message=d")},
		{"cwli fields with function alias", "CWLI",
			`fields concat(firstName, " ", lastName) as fullName, accountId | filter accountId = 12`,
			u("firstName=d", "lastName=d", "accountId=e")},
		{"cwli vpc flow", "CWLI",
			`filter action = "REJECT" | stats count(*) as numRejects by srcAddr, dstPort | sort numRejects desc | limit 20`,
			u("action=e", "srcAddr=d", "dstPort=d")},
		{"cwli empty", "CWLI", ``, u()},
		{"cwli detected", "",
			`fields @timestamp | filter errorCode = "AccessDenied" | stats count(*) by eventSource`,
			u("@timestamp=d", "errorCode=e", "eventSource=d")},
		{"cwli case-insensitive commands", "CWLI",
			`FIELDS host | FILTER env = "prod" | SORT host`,
			u("host=d", "env=e")},
		{"cwli backticked field", "CWLI",
			"filter `user-agent` like /curl/ | fields `x-amzn-trace-id`",
			u("user-agent=n", "x-amzn-trace-id=d")},

		// --- SQL ---
		{"sql where equality", "SQL",
			"SELECT `@timestamp`, `@message` FROM `/aws/lambda/checkout` WHERE level = 'ERROR' LIMIT 10",
			u("@timestamp=d", "@message=d", "level=e")},
		{"sql in and like", "SQL",
			"SELECT requestId FROM `LogGroupA` WHERE status IN (500, 503) AND path LIKE '%/api/%'",
			u("requestId=d", "status=e", "path=n")},
		{"sql group and order", "SQL",
			"SELECT host, COUNT(*) AS hits FROM `web` WHERE region = 'eu-west-1' GROUP BY host ORDER BY hits DESC LIMIT 5",
			u("host=d", "region=e")},
		{"sql select star", "SQL",
			"SELECT * FROM `app` WHERE tenantId = 42",
			u("tenantId=e")},
		{"sql filterIndex", "SQL",
			"SELECT `@message` FROM `app` WHERE filterIndex('requestId' = 'abc') AND level != 'DEBUG'",
			u("@message=d", "requestId=e", "level=n")},
		{"sql backticks and not like", "SQL",
			"SELECT `log.level`, `user.id` FROM `svc` WHERE `user.id` = 'u1' AND `log.level` NOT LIKE 'DEBUG%'",
			u("log.level=n", "user.id=e")},
		{"sql between and comparisons", "SQL",
			"SELECT orderId FROM `orders` WHERE amount BETWEEN 10 AND 20 AND quantity >= 3 AND flag <> 'x'",
			u("orderId=d", "amount=n", "quantity=n", "flag=n")},
		{"sql comments", "SQL",
			"-- top talkers\nSELECT srcaddr /* source */, SUM(bytes) AS total FROM `vpc` GROUP BY srcaddr ORDER BY total DESC",
			u("srcaddr=d", "bytes=d")},
		{"sql detected", "",
			"select eventName, count(*) from `trail` where awsRegion = 'us-east-1' group by eventName",
			u("eventName=d", "awsRegion=e")},
		{"sql column comparison is not equality", "SQL",
			"SELECT a.id FROM `x` a WHERE a.owner = a.creator",
			u("a.id=d")},

		// --- PPL ---
		{"ppl where equality", "PPL",
			"fields `@timestamp`, `@message`, requestId | where level = 'ERROR' | head 25",
			u("@timestamp=d", "@message=d", "requestId=d", "level=e")},
		{"ppl stats by", "PPL",
			"where status >= 500 | stats count() as errors by host, path | sort - errors",
			u("status=n", "host=d", "path=d")},
		{"ppl source and where", "",
			"SOURCE logGroups(namePrefix: ['/ecs']) | where service = 'cart' and latency > 200 | fields service, latency",
			u("service=e", "latency=n")},
		{"ppl eval and rename aliases", "PPL",
			"eval kb = bytes / 1024 | rename host as server | where kb > 10 | fields server, region",
			u("region=d")},
		{"ppl in list", "PPL",
			"where country in ('DE', 'FR') | stats count() by country, city",
			u("country=e", "city=d")},
		{"ppl top", "PPL",
			"where env = 'prod' | top 5 url by method",
			u("env=e", "url=d", "method=d")},
		{"ppl like", "PPL",
			"where like(message, '%timeout%') or userAgent like '%bot%' | fields message",
			u("message=d", "userAgent=n")},
		{"ppl sort desc plus", "PPL",
			"fields a, b | sort - a, + b",
			u("a=d", "b=d")},
		{"ppl detected by where", "",
			"fields clientIp | where clientIp = '10.0.0.1' | dedup clientIp",
			u("clientIp=e")},
	}
	if len(cases) < 40 {
		t.Fatalf("the table must keep at least 40 queries, has %d", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := parseQueryFields(tc.query, tc.lang)
			if fmtUses(got) != fmtUses(tc.want) {
				t.Errorf("query %q\n got  %s\n want %s", tc.query, fmtUses(got), fmtUses(tc.want))
			}
		})
	}
}

func TestQueryFieldsDetectLanguage(t *testing.T) {
	for q, want := range map[string]string{
		"SELECT * FROM `a`": langSQL,
		"  select a from b": langSQL,
		"SOURCE logGroups(namePrefix:['x']) | where a = 1":   langPPL,
		"SOURCE logGroups(namePrefix:['x']) | filter a = 1":  langCWLI,
		"fields a | where a = 1":                             langPPL,
		"fields a | where a = 1 | filter b = 2":              langCWLI,
		"fields @timestamp, @message | sort @timestamp desc": langCWLI,
		"":                          langCWLI,
		"stats count(*) by bin(1h)": langCWLI,
		"filter @message like /select/ | fields @message": langCWLI,
	} {
		if got := detectQueryLanguage(q); got != want {
			t.Errorf("%q: got %s want %s", q, got, want)
		}
	}
	// A stored queryLanguage wins over detection; an unknown one is ignored.
	if got := parseQueryFields("fields a | where b = 1", "CWLI"); got["b"] != 0 {
		t.Errorf("CWLI has no where command, got %v", got)
	}
	if got := parseQueryFields("fields a | where b = 1", "KQL"); got["b"] != fieldEquality {
		t.Errorf("unknown language should fall back to detection (PPL), got %v", got)
	}
}

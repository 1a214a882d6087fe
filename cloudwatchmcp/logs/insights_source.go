package logs

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/mcpedge/caddy-cloudwatch-mcp/cloudwatchmcp/toolkit"
)

// log_group_data_source (awslabs/mcp#2727) selects the log groups of an
// Insights query by what they are rather than by listing them, so a query
// is not limited to the 50 log groups StartQuery takes. StartQuery has no
// request member for it (aws-sdk-go-v2's StartQueryInput, the API
// reference): a query selects log groups that way with the SOURCE command
// at the start of its query string, which is what this renders:
//
//	SOURCE logGroups(namePrefix: ['/aws/lambda/'], accountIdentifiers: ['111122223333'], class: ['STANDARD'])

// insightsDataSource is the log_group_data_source argument.
type insightsDataSource struct {
	NamePrefixes       []string `json:"name_prefixes"`
	AccountIdentifiers []string `json:"account_identifiers"`
	LogGroupClass      string   `json:"log_group_class"`
}

// SOURCE's limits (CloudWatch Logs Insights query syntax, SOURCE).
const (
	sourceMaxPrefixes = 5
	sourceMaxAccounts = 20
)

var (
	sourceAccountRe   = regexp.MustCompile(`^\d{12}$`)
	sourceQueryPrefix = regexp.MustCompile(`(?i)^\s*SOURCE\s`)
)

// logGroupDataSourceProp is the argument's input schema.
var logGroupDataSourceProp = logsOptional(map[string]any{"type": "object", "properties": map[string]any{
	"name_prefixes":       logsArrayOf("string", sourceMaxPrefixes),
	"account_identifiers": logsArrayOf("string", sourceMaxAccounts),
	"log_group_class":     map[string]any{"type": "string", "enum": []string{"STANDARD", "INFREQUENT_ACCESS"}},
}, "additionalProperties": false}, "Select the log groups by name prefixes (at most 5), account IDs (at most 20, in a monitoring account) and log class instead of listing them; not with log_group_names or log_group_identifiers.")

// dataSourceArg returns the SOURCE command log_group_data_source asks for,
// "" when it is absent.
func dataSourceArg(a toolkit.Args) (string, error) {
	if !a.Has("log_group_data_source") {
		return "", nil
	}
	var ds insightsDataSource
	if err := a.Object("log_group_data_source", &ds); err != nil {
		return "", err
	}
	return ds.sourceCommand()
}

// hasSourceCommand reports whether the query_string selects its own log
// groups.
func hasSourceCommand(a toolkit.Args) bool {
	q, _ := a.Str("query_string", "")
	return sourceQueryPrefix.MatchString(q)
}

// withSource puts the SOURCE command (if any) in front of the query.
func withSource(source, query string) (string, error) {
	if source == "" {
		return query, nil
	}
	if sourceQueryPrefix.MatchString(query) {
		return "", toolkit.Errorf("query_string has its own SOURCE command; drop it or log_group_data_source")
	}
	return source + " | " + query, nil
}

// sourceCommand validates the data source and renders its SOURCE command.
func (d insightsDataSource) sourceCommand() (string, error) {
	if len(d.NamePrefixes) > sourceMaxPrefixes {
		return "", toolkit.Errorf("log_group_data_source.name_prefixes takes at most %d prefixes, got %d", sourceMaxPrefixes, len(d.NamePrefixes))
	}
	if len(d.AccountIdentifiers) > sourceMaxAccounts {
		return "", toolkit.Errorf("log_group_data_source.account_identifiers takes at most %d accounts, got %d", sourceMaxAccounts, len(d.AccountIdentifiers))
	}
	var parts []string
	list := func(key string, vals []string) {
		q := make([]string, len(vals))
		for i, v := range vals {
			q[i] = sourceQuote(v)
		}
		parts = append(parts, key+": ["+strings.Join(q, ", ")+"]")
	}
	for _, p := range d.NamePrefixes {
		if strings.TrimSpace(p) == "" {
			return "", toolkit.Errorf("log_group_data_source.name_prefixes must not hold an empty prefix (it would match every log group)")
		}
	}
	if len(d.NamePrefixes) > 0 {
		list("namePrefix", d.NamePrefixes)
	}
	for _, a := range d.AccountIdentifiers {
		if !sourceAccountRe.MatchString(a) {
			return "", toolkit.Errorf("log_group_data_source.account_identifiers: %q is not a 12-digit AWS account ID", a)
		}
	}
	if len(d.AccountIdentifiers) > 0 {
		list("accountIdentifiers", d.AccountIdentifiers)
	}
	switch c := strings.ToUpper(d.LogGroupClass); c {
	case "":
	case "STANDARD", "INFREQUENT_ACCESS":
		list("class", []string{c})
	default:
		return "", toolkit.Errorf("log_group_data_source.log_group_class must be STANDARD or INFREQUENT_ACCESS, got %q", d.LogGroupClass)
	}
	return "SOURCE logGroups(" + strings.Join(parts, ", ") + ")", nil
}

// sourceQuote quotes a SOURCE list value: single quotes, with quotes and
// backslashes escaped, so a prefix cannot end the command.
func sourceQuote(s string) string {
	q := strconv.Quote(s) // escapes \ and control characters
	q = strings.ReplaceAll(q[1:len(q)-1], `\"`, `"`)
	return "'" + strings.ReplaceAll(q, "'", `\'`) + "'"
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

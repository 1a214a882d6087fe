package cognitoauth

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// optionError is a configuration mistake in one option. Validate returns
// it so that UnmarshalCaddyfile, which runs Validate on every block, can
// point at that option's line: a mistake is caught by `caddy adapt` with
// file:line, and Provision's Validate remains the backstop for JSON.
type optionError struct {
	option string // as in the Caddyfile (and the JSON key)
	err    error
}

func (e *optionError) Error() string { return e.err.Error() }
func (e *optionError) Unwrap() error { return e.err }

// inOption tags err (if any) with the option it is about.
func inOption(option string, err error) error {
	if err == nil {
		return nil
	}
	return &optionError{option: option, err: err}
}

func optionErrorf(option, format string, args ...any) error {
	return &optionError{option: option, err: fmt.Errorf(format, args...)}
}

// validateListValues checks scopes, groups, client_ids and audiences: they
// are compared exactly and quoted in challenges, so no spaces, quotes or
// backslashes.
func validateListValues(option string, values []string) error {
	for _, v := range values {
		if v == "" || strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == '"' || r == '\\' || r == 0x7f }) {
			return optionErrorf(option, "%s: invalid value %q: must be non-empty without spaces, quotes or backslashes", option, v)
		}
	}
	return nil
}

// userPoolIDPattern is aws-jwt-verify's check; the part before "_" is the
// pool's region.
var userPoolIDPattern = regexp.MustCompile(`^([a-z]{2}(-gov)?-[a-z]+-\d)_[a-zA-Z0-9]+$`)

func validateUserPool(region, id string) error {
	mm := userPoolIDPattern.FindStringSubmatch(id)
	if mm == nil {
		return fmt.Errorf("%q is not a user pool ID (like us-east-1_AbC123xyz)", id)
	}
	if region == "" {
		return fmt.Errorf("region is required with user pool %q", id)
	}
	if mm[1] != region {
		return fmt.Errorf("user pool %q is not in region %q", id, region)
	}
	return nil
}

// validateURL requires an absolute http(s) URL without fragment; keys and
// metadata are only ever fetched from or published as such URLs.
func validateURL(what, v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" ||
		strings.ContainsAny(v, "\" \\") {
		return fmt.Errorf("%s: %q is not an absolute http(s) URL", what, v)
	}
	return nil
}

package cognitoauth

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

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

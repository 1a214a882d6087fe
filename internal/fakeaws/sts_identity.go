package fakeaws

import (
	"encoding/xml"
	"strings"
)

// STS GetCallerIdentity (signed): the account, ARN and user id of the
// signing key. A vended session answers with its role's account and the
// assumed-role ARN; other keys with the account SetAccount gave their
// owner, else DefaultAccountID (the account of the fake's log groups).

func init() {
	Register(func(f *Fake) { f.Handle("sts", "GetCallerIdentity", stsGetCallerIdentity) })
}

type accounts struct{ byOwner map[string]string }

func accountsOf(f *Fake) *accounts {
	return f.State("accounts", func() any { return &accounts{byOwner: map[string]string{}} }).(*accounts)
}

// SetAccount makes GetCallerIdentity answer account for keys issued to
// owner (IssueCredentials, AddCredentials).
func (f *Fake) SetAccount(owner, account string) {
	a := accountsOf(f)
	f.mu.Lock()
	a.byOwner[owner] = account
	f.mu.Unlock()
}

func stsGetCallerIdentity(r *Request) (any, error) {
	if r.AccessKeyID == "" {
		return nil, &Error{Status: 403, Code: "MissingAuthenticationToken", Message: "Request is missing Authentication Token"}
	}
	v := vendingOf(r.Fake())
	v.mu.Lock()
	s, vended := v.sessions[r.AccessKeyID]
	v.mu.Unlock()
	type result struct {
		Account string `xml:"Account"`
		Arn     string `xml:"Arn"`
		UserID  string `xml:"UserId"`
	}
	var res result
	if vended && s.RoleARN != "" {
		u := assumedUser(s.RoleARN, s.RoleSessionName)
		res = result{Account: strings.Split(u.Arn, ":")[4], Arn: u.Arn, UserID: u.AssumedRoleID}
	} else {
		a := accountsOf(r.Fake())
		r.Fake().mu.Lock()
		acct := a.byOwner[r.Owner]
		r.Fake().mu.Unlock()
		if acct == "" {
			acct = DefaultAccountID
		}
		res = result{Account: acct, Arn: "arn:aws:iam::" + acct + ":user/" + r.Owner, UserID: "AIDA" + strings.ToUpper(randHex(8))}
	}
	type metadata struct {
		RequestID string `xml:"RequestId"`
	}
	type response struct {
		XMLName  xml.Name `xml:"GetCallerIdentityResponse"`
		Xmlns    string   `xml:"xmlns,attr"`
		Result   result   `xml:"GetCallerIdentityResult"`
		Metadata metadata `xml:"ResponseMetadata"`
	}
	b, err := xml.Marshal(response{Xmlns: "https://sts.amazonaws.com/doc/2011-06-15/", Result: res, Metadata: metadata{RequestID: randHex(16)}})
	if err != nil {
		return nil, err
	}
	return RawXML(b), nil
}

package cognitoauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

const (
	testSecret = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYSECRETKEY"
	testToken  = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN"
)

func testCredentials(now func() time.Time) *Credentials {
	return newCredentials(aws.Credentials{
		AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: testSecret, SessionToken: testToken,
		CanExpire: true, Expires: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
	}, "assume_role", "", "alice", now)
}

func assertRedacted(t *testing.T, what, out string) {
	t.Helper()
	if strings.Contains(out, testSecret) || strings.Contains(out, testToken) {
		t.Errorf("%s leaks a secret: %s", what, out)
	}
}

func TestCredentialsRedaction(t *testing.T) {
	c := testCredentials(nil)
	type holder struct {
		C  *Credentials
		V  Credentials
		c  *Credentials
		cv Credentials
	}
	h := holder{C: c, V: *c, c: c, cv: *c}
	values := map[string]any{"pointer": c, "value": *c, "struct": h, "map": map[string]any{"c": c}, "slice": []any{c, *c}}
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x", "%X", "%T"} {
			assertRedacted(t, name+" "+verb, fmt.Sprintf(verb, v))
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json %s: %v", name, err)
		}
		assertRedacted(t, "json "+name, string(b))
		assertRedacted(t, "caddy.ToString "+name, caddy.ToString(v))
	}
	if s := fmt.Sprint(c); !strings.Contains(s, "ASIAEXAMPLE") || !strings.Contains(s, redacted) || !strings.Contains(s, "2030-01-02T03:04:05Z") {
		t.Fatalf("String should show the key ID, expiry and REDACTED: %s", s)
	}
	var back map[string]any
	b, _ := json.Marshal(c)
	if err := json.Unmarshal(b, &back); err != nil || back["secret_access_key"] != redacted || back["access_key_id"] != "ASIAEXAMPLE" {
		t.Fatalf("JSON form %s", b)
	}

	// zap, through every field constructor a logger or log_append might use.
	var buf bytes.Buffer
	logger := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(&buf), zapcore.DebugLevel))
	logger.Info("creds", zap.Object("obj", c), zap.Any("any", c), zap.Any("anyval", *c), zap.Reflect("reflect", c),
		zap.Stringer("stringer", c), zap.Any("struct", h))
	_ = logger.Sync()
	assertRedacted(t, "zap", buf.String())
	if !strings.Contains(buf.String(), `"secret_access_key":"REDACTED"`) {
		t.Fatalf("zap output lacks the redacted object: %s", buf.String())
	}
	// Console encoder too.
	buf.Reset()
	logger = zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig()), zapcore.AddSync(&buf), zapcore.DebugLevel))
	logger.Debug("creds", zap.Any("c", c))
	assertRedacted(t, "zap console", buf.String())
}

func TestCredentialsProvider(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC)
	c := testCredentials(func() time.Time { return now })
	var p aws.CredentialsProvider = c
	got, err := p.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessKeyID != "ASIAEXAMPLE" || got.SecretAccessKey != testSecret || got.SessionToken != testToken ||
		!got.CanExpire || !got.Expires.Equal(c.Expires()) || got.Source != "cognito_auth/assume_role" {
		t.Fatalf("retrieved %+v", got)
	}
	// Works wrapped in the SDK's own cache, as a consumer may do.
	if _, err := aws.NewCredentialsCache(c).Retrieve(context.Background()); err != nil {
		t.Fatal(err)
	}
	now = now.Add(5 * time.Minute)
	if _, err := c.Retrieve(context.Background()); !errors.Is(err, errCredentialsExpired) {
		t.Fatalf("expired credentials retrieved: %v", err)
	}
	if (Credentials{}).String() == "" {
		t.Fatal("zero value must render")
	}
	if _, err := (Credentials{}).Retrieve(context.Background()); err == nil {
		t.Fatal("zero value must not retrieve")
	}
}

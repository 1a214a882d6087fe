package cognitoauth

import (
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestIdentityLogsNoSecretsOrPII(t *testing.T) {
	is := newCognitoIssuer(t)
	tok := is.Mint(is.CognitoIDClaims("user-9", testClient).With("cognito:groups", []string{"g1", "g2"}))
	m := cognitoModule(t, is, func(m *CognitoAuth) { m.TokenUse = "id" })
	core, logs := observer.New(zapcore.DebugLevel)
	m.logger = zap.New(core)

	if res := serve(t, m, bearerRequest(tok)); res.rec.Code != 200 {
		t.Fatal(res.rec.Code)
	}
	if res := serve(t, m, bearerRequest(tok+"x")); res.rec.Code != 401 {
		t.Fatal(res.rec.Code)
	}
	entries := logs.All()
	if len(entries) != 2 || entries[0].Level != zapcore.DebugLevel || entries[1].Level != zapcore.DebugLevel {
		t.Fatalf("log entries = %+v", entries)
	}
	id := entries[0].ContextMap()["identity"].(map[string]any)
	if id["sub"] != "user-9" || id["groups"] != "g1,g2" || id["token_type"] != "id" {
		t.Fatalf("identity log = %v", id)
	}
	rej := entries[1].ContextMap()
	if rej["reason"] != "invalid signature" || rej["status"] != int64(401) {
		t.Fatalf("rejection log = %v", rej)
	}
	for _, e := range entries {
		dump := e.Message
		for k, v := range e.ContextMap() {
			dump += k + "=" + strings.TrimSpace(strings.ReplaceAll(fmtAny(v), "\n", " "))
		}
		if strings.Contains(dump, tok[len(tok)-20:]) || strings.Contains(dump, "@example.com") {
			t.Fatalf("log leaks token or email: %s", dump)
		}
	}
}

func fmtAny(v any) string {
	if m, ok := v.(map[string]any); ok {
		var b strings.Builder
		for k, x := range m {
			b.WriteString(k + ":" + fmtAny(x) + " ")
		}
		return b.String()
	}
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}

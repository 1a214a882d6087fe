package sessionstore

import (
	"bytes"
	"context"
	"testing"

	"github.com/caddyserver/certmagic"
)

// Instances sharing storage get one secret: the first creates it.
func TestStoredSecretIsSharedThroughStorage(t *testing.T) {
	st := &certmagic.FileStorage{Path: t.TempDir()}
	a, err := StoredSecret(context.Background(), st)
	if err != nil || len(a) != SecretSize {
		t.Fatalf("%x %v", a, err)
	}
	b, err := StoredSecret(context.Background(), &certmagic.FileStorage{Path: st.Path})
	if err != nil || !bytes.Equal(a, b) {
		t.Fatalf("second instance got another secret: %v", err)
	}
	if c, _ := StoredSecret(context.Background(), &certmagic.FileStorage{Path: t.TempDir()}); bytes.Equal(a, c) {
		t.Fatal("separate storage, same secret")
	}
}

package sessionstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/caddyserver/certmagic"
)

// SecretStorageKey is where, in Caddy storage, the cluster's session
// secret is kept when none is configured. Instances share it only if they
// share storage (as they do to share certificates).
const SecretStorageKey = "cloudwatch_mcp/session_secret"

// StoredSecret is the secret kept in st, created by the first instance
// that needs it, under the storage lock so instances starting together
// agree.
func StoredSecret(ctx context.Context, st certmagic.Storage) ([]byte, error) {
	if st == nil {
		return nil, errors.New("no Caddy storage for the session secret; configure one (secret)")
	}
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := st.Lock(c, SecretStorageKey); err != nil {
		return nil, fmt.Errorf("locking the session secret in storage: %v", err)
	}
	defer func() { _ = st.Unlock(context.Background(), SecretStorageKey) }()
	b, err := st.Load(c, SecretStorageKey)
	if err == nil && len(b) == SecretSize {
		return b, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("loading the session secret from storage: %v", err)
	}
	b = make([]byte, SecretSize)
	_, _ = rand.Read(b)
	if err := st.Store(c, SecretStorageKey, b); err != nil {
		return nil, fmt.Errorf("keeping the session secret in storage: %v", err)
	}
	return b, nil
}

package redistest

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Entry is one key and everything stored under it, read by its type.
type Entry struct {
	DB   int
	Key  string
	Type string // string, hash, list, set, zset, stream
	// Values: the value (string), field and value pairs (hash), elements
	// (list, set), members and scores (zset), or each entry's ID, fields
	// and values (stream).
	Values []string
	// TTL is the remaining time to live; 0 for a key that never expires.
	TTL time.Duration
}

// Dump is every key of every database.
type Dump []Entry

// Text renders the dump for secretscan: one line per key with all its
// values, raw (not escaped), so any secret stored anywhere shows.
func (d Dump) Text() []byte {
	var b strings.Builder
	for _, e := range d {
		fmt.Fprintf(&b, "db%d %s %s ttl=%s", e.DB, e.Type, e.Key, e.TTL)
		for _, v := range e.Values {
			b.WriteByte(' ')
			b.WriteString(v)
		}
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// Keys are the dump's key names.
func (d Dump) Keys() []string {
	keys := make([]string, len(d))
	for i, e := range d {
		keys[i] = e.Key
	}
	return keys
}

var keyspaceDB = regexp.MustCompile(`(?m)^db(\d+):keys=`)

// Dump reads back every key of every database: SCAN, then GET, HGETALL,
// LRANGE, SMEMBERS, ZRANGE or XRANGE by type, sorted by database and key.
func (s *Server) Dump(t testing.TB) Dump {
	t.Helper()
	d, err := s.ReadAll(context.Background())
	if err != nil {
		t.Fatalf("reading back Redis: %v", err)
	}
	return d
}

// ReadAll is Dump returning its error.
func (s *Server) ReadAll(ctx context.Context) (Dump, error) {
	info, err := s.Admin().Info(ctx, "keyspace").Result()
	if err != nil {
		return nil, err
	}
	var out Dump
	for _, m := range keyspaceDB.FindAllStringSubmatch(info, -1) {
		db, _ := strconv.Atoi(m[1])
		entries, err := s.readDB(ctx, db)
		if err != nil {
			return nil, fmt.Errorf("db %d: %w", db, err)
		}
		out = append(out, entries...)
	}
	return out, nil
}

func (s *Server) readDB(ctx context.Context, db int) (Dump, error) {
	c := redis.NewClient(&redis.Options{Addr: s.Addr, Password: s.password, DB: db, ClientName: "redistest",
		DialTimeout: time.Second, ReadTimeout: 5 * time.Second, MaxRetries: -1, DisableIdentity: true})
	defer c.Close()
	var keys []string
	iter := c.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return nil, err
	}
	sort.Strings(keys)
	var out Dump
	for _, k := range keys {
		e := Entry{DB: db, Key: k}
		var err error
		if e.Type, err = c.Type(ctx, k).Result(); err != nil {
			return nil, err
		}
		switch e.Type {
		case "none": // expired between SCAN and TYPE
			continue
		case "string":
			var v string
			v, err = c.Get(ctx, k).Result()
			e.Values = []string{v}
		case "hash":
			var h map[string]string
			h, err = c.HGetAll(ctx, k).Result()
			for _, f := range sortedKeys(h) {
				e.Values = append(e.Values, f, h[f])
			}
		case "list":
			e.Values, err = c.LRange(ctx, k, 0, -1).Result()
		case "set":
			e.Values, err = c.SMembers(ctx, k).Result()
			sort.Strings(e.Values)
		case "zset":
			var zs []redis.Z
			zs, err = c.ZRangeWithScores(ctx, k, 0, -1).Result()
			for _, z := range zs {
				e.Values = append(e.Values, fmt.Sprint(z.Member), strconv.FormatFloat(z.Score, 'f', -1, 64))
			}
		case "stream":
			var xs []redis.XMessage
			xs, err = c.XRange(ctx, k, "-", "+").Result()
			for _, x := range xs {
				e.Values = append(e.Values, x.ID)
				for _, f := range sortedKeys(x.Values) {
					e.Values = append(e.Values, f, fmt.Sprint(x.Values[f]))
				}
			}
		default:
			return nil, fmt.Errorf("key %q has type %s, which the dump cannot read", k, e.Type)
		}
		if err != nil && err != redis.Nil {
			return nil, fmt.Errorf("key %q (%s): %w", k, e.Type, err)
		}
		if ttl, err := c.PTTL(ctx, k).Result(); err == nil && ttl > 0 {
			e.TTL = ttl
		}
		out = append(out, e)
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ClientCount is how many connections the server has from clients named
// name (CLIENT SETNAME, go-redis ClientName), e.g. to prove a pool does
// not grow over config reloads.
func (s *Server) ClientCount(ctx context.Context, name string) (int, error) {
	list, err := s.Admin().ClientList(ctx).Result()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, line := range strings.Split(list, "\n") {
		for _, f := range strings.Fields(line) {
			if f == "name="+name {
				n++
			}
		}
	}
	return n, nil
}

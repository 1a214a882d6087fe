package sessionstore

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"github.com/mark3labs/mcp-go/server"
	"github.com/redis/go-redis/v9"
)

// ErrNoSession is StoreEvent's answer for a session that has ended: its
// events are not kept (mcp-go then delivers the event live, without an ID).
var ErrNoSession = errors.New("session ended: event not recorded")

// storeScript appends a sealed event to a live session's stream, trims the
// stream to the count and byte budgets (oldest first, keeping the newest),
// and gives the stream the session's remaining time to live. The session
// hash keeps the stream's byte count (field b).
var storeScript = redis.NewScript(`
local pttl = redis.call('PTTL', KEYS[1])
if pttl < 0 then return false end
local id = redis.call('XADD', KEYS[2], '*', 's', ARGV[1], 'm', ARGV[2])
local bytes = redis.call('HINCRBY', KEYS[1], 'b', string.len(ARGV[2]))
local n = redis.call('XLEN', KEYS[2])
while n > 1 and (n > tonumber(ARGV[3]) or bytes > tonumber(ARGV[4])) do
	local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)[1]
	local f = first[2]
	for i = 1, #f, 2 do
		if f[i] == 'm' then bytes = redis.call('HINCRBY', KEYS[1], 'b', -string.len(f[i + 1])) end
	end
	redis.call('XDEL', KEYS[2], first[1])
	n = n - 1
end
redis.call('PEXPIRE', KEYS[2], pttl)
return id
`)

// StoreEvent records message on streamID of session id and returns its
// event ID (the Redis Stream entry ID, unique within the session).
func (s *Store) StoreEvent(ctx context.Context, id, streamID string, message []byte) (string, error) {
	ek := eventsKey(id)
	sealed := s.seal(ek, streamID, message)
	res, err := storeScript.Run(ctx, s.c.Redis(), []string{sessionKey(id), ek}, streamID, sealed, s.MaxEvents, s.MaxEventBytes).Result()
	if errors.Is(err, redis.Nil) {
		return "", ErrNoSession
	}
	if err != nil {
		return "", err
	}
	eid, ok := res.(string)
	if !ok {
		return "", errors.New("event script: unexpected reply")
	}
	return eid, nil
}

// eventID is the shape of a Redis Stream entry ID.
var eventID = regexp.MustCompile(`^[0-9]{1,20}-[0-9]{1,20}$`)

// ReplayEventsAfter sends the events of session id recorded after
// lastEventID on its stream, and returns the stream's ID; lastEventID
// unknown to the session (never issued, or trimmed) wraps
// server.ErrUnknownEventID.
func (s *Store) ReplayEventsAfter(ctx context.Context, id, lastEventID string, send func(eventID string, message json.RawMessage) error) (string, error) {
	unknown := fmt.Errorf("%w: %.40q", server.ErrUnknownEventID, lastEventID)
	if !eventID.MatchString(lastEventID) {
		return "", unknown
	}
	ek := eventsKey(id)
	pipe := s.c.Redis().Pipeline()
	at := pipe.XRange(ctx, ek, lastEventID, lastEventID)
	after := pipe.XRange(ctx, ek, "("+lastEventID, "+")
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return "", err
	}
	first := at.Val()
	if len(first) != 1 {
		return "", unknown
	}
	stream, _ := first[0].Values["s"].(string)
	for _, x := range after.Val() {
		if st, _ := x.Values["s"].(string); st != stream {
			continue
		}
		sealed, _ := x.Values["m"].(string)
		msg, err := s.open(ek, stream, sealed)
		if err != nil {
			return "", fmt.Errorf("event %s: %w", x.ID, err)
		}
		if err := send(x.ID, msg); err != nil {
			return "", err
		}
	}
	return stream, nil
}

// seal encrypts message for the stream streamID under Redis key key:
// nonce || AES-GCM(message), with key and stream as associated data.
func (s *Store) seal(key, streamID string, message []byte) string {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(message)+s.aead.Overhead())
	_, _ = rand.Read(nonce)
	return string(s.aead.Seal(nonce, nonce, message, associated(key, streamID)))
}

func (s *Store) open(key, streamID, sealed string) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, errors.New("sealed event too short")
	}
	msg, err := s.aead.Open(nil, []byte(sealed[:n]), []byte(sealed[n:]), associated(key, streamID))
	if err != nil {
		return nil, errors.New("event does not open with this cluster's key (was the session secret changed, or the entry moved?)")
	}
	return msg, nil
}

func associated(key, streamID string) []byte {
	return []byte(key + "\x00" + streamID)
}

// StreamOf is the stream that lastEventID of session id was recorded on,
// "" when the session holds no such event.
func (s *Store) StreamOf(ctx context.Context, id, lastEventID string) (string, error) {
	if !eventID.MatchString(lastEventID) {
		return "", nil
	}
	xs, err := s.c.Redis().XRange(ctx, eventsKey(id), lastEventID, lastEventID).Result()
	if err != nil || len(xs) != 1 {
		return "", err
	}
	st, _ := xs[0].Values["s"].(string)
	return st, nil
}

package revocation

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis layout. A revoked jti is the key RedisKeyToken+hex(digest) with the value "1"; a subject
// not-before is RedisKeySub+hex(digest) holding Unix milliseconds (rounded up). Both carry a TTL
// equal to the record's remaining life, so Redis drops them itself. Each write and its PUBLISH
// on RedisChannel run as one script: atomic, one round trip, and a later expiry or not-before is
// never replaced by an earlier one.
var (
	scriptToken = redis.NewScript(`
local ttl = tonumber(ARGV[1])
local left = redis.call('PTTL', KEYS[1])
if left > ttl then ttl = left end
redis.call('SET', KEYS[1], '1', 'PX', ttl)
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1`)
	scriptSubject = redis.NewScript(`
local nb = ARGV[1]
local cur = redis.call('GET', KEYS[1])
if cur and tonumber(cur) > tonumber(nb) then nb = cur end
local ttl = tonumber(ARGV[2])
local left = redis.call('PTTL', KEYS[1])
if left > ttl then ttl = left end
redis.call('SET', KEYS[1], nb, 'PX', ttl)
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1`)
)

// redisMessage is what goes over RedisChannel: the record and the replica that wrote it, so a
// replica does not act twice on its own revocations.
type redisMessage struct {
	Record
	Origin string `json:"origin"`
}

// redisBackend keeps revocations in Redis, shared by every replica.
type redisBackend struct {
	rdb     *redis.Client
	sub     *redis.PubSub
	origin  string
	timeout time.Duration
	log     *slog.Logger
	done    sync.WaitGroup
}

func openRedis(ctx context.Context, cfg Config, onRemote func(Record), log *slog.Logger) (*redisBackend, error) {
	opts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("revocation.redis_url: %w", err)
	}
	// Deadlines from the request context bound every call, so a hung server costs a request at
	// most CheckTimeout rather than the client's multi-second defaults.
	opts.ContextTimeoutEnabled = true
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	r := &redisBackend{rdb: redis.NewClient(opts), origin: hex.EncodeToString(id), timeout: cfg.CheckTimeout, log: log}
	pingCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := r.rdb.Ping(pingCtx).Err(); err != nil {
		log.Error("revocation store: redis does not answer yet; checks fail until it does",
			"addr", opts.Addr, "on_store_error", cfg.OnStoreError, "error", err)
	}
	// The subscription reconnects by itself. Messages sent while it is down are lost, which
	// only delays dropping cached tokens: every check still asks Redis.
	r.sub = r.rdb.Subscribe(context.WithoutCancel(ctx), RedisChannel)
	r.done.Add(1)
	go r.listen(onRemote)
	return r, nil
}

func (r *redisBackend) listen(onRemote func(Record)) {
	defer r.done.Done()
	for msg := range r.sub.Channel() {
		var m redisMessage
		if err := json.Unmarshal([]byte(msg.Payload), &m); err != nil {
			r.log.Warn("revocation store: ignoring a malformed message", "channel", msg.Channel, "error", err)
			continue
		}
		if m.Origin != r.origin {
			onRemote(m.Record)
		}
	}
}

func (r *redisBackend) putToken(ctx context.Context, rec Record, now time.Time) error {
	msg, err := r.message(rec)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	key := redisKey(RedisKeyToken, keyOf(rec.Issuer, rec.TokenID))
	return scriptToken.Run(ctx, r.rdb, []string{key}, ttlMillis(rec.Expires, now), RedisChannel, msg).Err()
}

func (r *redisBackend) putSubject(ctx context.Context, rec Record, now time.Time) error {
	msg, err := r.message(rec)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	key := redisKey(RedisKeySub, keyOf(rec.Issuer, rec.Subject))
	notBefore := (rec.NotBefore.UnixNano() + int64(time.Millisecond) - 1) / int64(time.Millisecond)
	return scriptSubject.Run(ctx, r.rdb, []string{key}, notBefore, ttlMillis(rec.Expires, now), RedisChannel, msg).Err()
}

func (r *redisBackend) message(rec Record) (string, error) {
	b, err := json.Marshal(redisMessage{Record: rec, Origin: r.origin})
	return string(b), err
}

// get asks for both keys with one MGET: one round trip per check.
func (r *redisBackend) get(ctx context.Context, tokenKey *digest, subjectKey digest, _ time.Time) (lookup, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	keys := make([]string, 0, 2)
	keys = append(keys, redisKey(RedisKeySub, subjectKey))
	if tokenKey != nil {
		keys = append(keys, redisKey(RedisKeyToken, *tokenKey))
	}
	vals, err := r.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return lookup{}, err
	}
	var found lookup
	if s, ok := vals[0].(string); ok {
		ms, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return lookup{}, fmt.Errorf("subject not-before %q: %w", s, err)
		}
		found.notBefore = time.UnixMilli(ms)
	}
	found.tokenRevoked = len(vals) == 2 && vals[1] != nil
	return found, nil
}

func (r *redisBackend) close() error {
	err := r.sub.Close()
	r.done.Wait()
	return errors.Join(err, r.rdb.Close())
}

// ttlMillis is the time from now to until in whole milliseconds, at least one.
func ttlMillis(until, now time.Time) int64 {
	return max(until.Sub(now).Milliseconds(), 1)
}

func redisKey(prefix string, d digest) string { return prefix + hex.EncodeToString(d[:]) }

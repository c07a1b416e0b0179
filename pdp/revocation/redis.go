package revocation

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis layout. A revoked jti is the key RedisKeyToken+hex(digest) with the value "1"; a subject
// not-before is RedisKeySub+hex(digest) holding Unix milliseconds (rounded up). Both carry a TTL
// equal to the record's remaining life, so Redis drops them itself. Each write runs as one
// script: atomic, one round trip, and a later expiry or not-before is never replaced by an
// earlier one. Nothing is announced to other replicas: each checks Redis on every request.
var (
	scriptToken = redis.NewScript(`
local ttl = tonumber(ARGV[1])
local left = redis.call('PTTL', KEYS[1])
if left > ttl then ttl = left end
redis.call('SET', KEYS[1], '1', 'PX', ttl)
return 1`)
	scriptSubject = redis.NewScript(`
local nb = ARGV[1]
local cur = redis.call('GET', KEYS[1])
if cur and tonumber(cur) > tonumber(nb) then nb = cur end
local ttl = tonumber(ARGV[2])
local left = redis.call('PTTL', KEYS[1])
if left > ttl then ttl = left end
redis.call('SET', KEYS[1], nb, 'PX', ttl)
return 1`)
)

// redisBackend keeps revocations in Redis, shared by every replica.
type redisBackend struct {
	rdb     *redis.Client
	timeout time.Duration
}

func openRedis(ctx context.Context, cfg Config, log *slog.Logger) (*redisBackend, error) {
	opts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("revocation.redis_url: %w", err)
	}
	// Deadlines from the request context bound every call, so a hung server costs a request at
	// most CheckTimeout rather than the client's multi-second defaults.
	opts.ContextTimeoutEnabled = true
	r := &redisBackend{rdb: redis.NewClient(opts), timeout: cfg.CheckTimeout}
	pingCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := r.rdb.Ping(pingCtx).Err(); err != nil {
		log.Error("revocation store: redis does not answer yet; checks fail until it does",
			"addr", opts.Addr, "on_store_error", cfg.OnStoreError, "error", err)
	}
	return r, nil
}

func (r *redisBackend) putToken(ctx context.Context, rec Record, now time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	key := redisKey(RedisKeyToken, keyOf(rec.Issuer, rec.TokenID))
	return scriptToken.Run(ctx, r.rdb, []string{key}, ttlMillis(rec.Expires, now)).Err()
}

func (r *redisBackend) putSubject(ctx context.Context, rec Record, now time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	key := redisKey(RedisKeySub, keyOf(rec.Issuer, rec.Subject))
	notBefore := (rec.NotBefore.UnixNano() + int64(time.Millisecond) - 1) / int64(time.Millisecond)
	return scriptSubject.Run(ctx, r.rdb, []string{key}, notBefore, ttlMillis(rec.Expires, now)).Err()
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

func (r *redisBackend) close() error { return r.rdb.Close() }

// ttlMillis is the time from now to until in whole milliseconds, at least one.
func ttlMillis(until, now time.Time) int64 {
	return max(until.Sub(now).Milliseconds(), 1)
}

func redisKey(prefix string, d digest) string { return prefix + hex.EncodeToString(d[:]) }

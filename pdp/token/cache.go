package token

import (
	"crypto/sha256"
	"fmt"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// cacheKey is the SHA-256 of the whole raw token. Anything less (the payload, the signature, a
// jti) would let a token that differs in the unhashed part ride on another's verification.
type cacheKey [32]byte

// cacheEntry is one verified token and the instant it stops being servable.
type cacheEntry struct {
	principal *Principal
	expiresAt time.Time
}

// verifiedCache is a bounded LRU of verified tokens. It owns key construction, expiry on read
// and its counters; revocation is not its business and is checked by the caller on every hit.
type verifiedCache struct {
	lru                     *lru.Cache[cacheKey, cacheEntry]
	capacity                int
	hits, misses, evictions atomic.Uint64
	expired                 atomic.Uint64
}

// CacheStats are the verified-token cache's counters since the Verifier was built.
type CacheStats struct {
	// Entries is the number of tokens cached now; Capacity bounds it (tokens.cache_size).
	Entries  int `json:"entries"`
	Capacity int `json:"capacity"`
	// Hits and Misses count lookups; a cached token found past its exp counts as a miss and as
	// Expired.
	Hits    uint64 `json:"hits"`
	Misses  uint64 `json:"misses"`
	Expired uint64 `json:"expired"`
	// Evictions counts entries pushed out to make room.
	Evictions uint64 `json:"evictions"`
}

func newVerifiedCache(size int) (*verifiedCache, error) {
	c, err := lru.New[cacheKey, cacheEntry](size)
	if err != nil {
		return nil, fmt.Errorf("verified-token cache: %w", err)
	}
	return &verifiedCache{lru: c, capacity: size}, nil
}

func keyOf(raw string) cacheKey { return sha256.Sum256([]byte(raw)) }

// get returns the cached principal for key when the entry is still before its expiry at now.
func (c *verifiedCache) get(key cacheKey, now time.Time) (*Principal, bool) {
	e, ok := c.lru.Get(key)
	if !ok {
		c.misses.Add(1)
		return nil, false
	}
	if !now.Before(e.expiresAt) {
		c.lru.Remove(key)
		c.expired.Add(1)
		c.misses.Add(1)
		return nil, false
	}
	c.hits.Add(1)
	return e.principal, true
}

// add caches p until expiresAt; entries already expired at now are not stored.
func (c *verifiedCache) add(key cacheKey, p *Principal, expiresAt, now time.Time) {
	if !now.Before(expiresAt) {
		return
	}
	if c.lru.Add(key, cacheEntry{principal: p, expiresAt: expiresAt}) {
		c.evictions.Add(1)
	}
}

// remove drops key, for a token found revoked.
func (c *verifiedCache) remove(key cacheKey) { c.lru.Remove(key) }

func (c *verifiedCache) stats() CacheStats {
	return CacheStats{
		Entries:   c.lru.Len(),
		Capacity:  c.capacity,
		Hits:      c.hits.Load(),
		Misses:    c.misses.Load(),
		Expired:   c.expired.Load(),
		Evictions: c.evictions.Load(),
	}
}

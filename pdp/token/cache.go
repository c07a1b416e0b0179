package token

import (
	"crypto/sha256"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/verdict-pdp/verdict/pdp/bytelru"
)

// cacheKey is the SHA-256 of the whole raw token. Anything less (the payload, the signature, a
// jti) would let a token that differs in the unhashed part ride on another's verification.
type cacheKey [32]byte

// cacheEntry is one verified token and the instant it stops being servable.
type cacheEntry struct {
	principal *Principal
	expiresAt time.Time
}

// verifiedCache is an LRU of verified tokens bounded by count (tokens.cache_size) and by bytes
// (tokens.cache_max_bytes), each entry charged entryCost of its principal. It owns key
// construction, expiry on read and its counters; revocation is not its business and is checked
// by the caller on every hit.
type verifiedCache struct {
	entries               *bytelru.Cache[cacheKey, cacheEntry]
	hits, misses, expired atomic.Uint64
}

// CacheStats are the verified-token cache's counters since the Verifier was built.
type CacheStats struct {
	// Entries is the number of tokens cached now; Capacity bounds it (tokens.cache_size).
	Entries  int `json:"entries"`
	Capacity int `json:"capacity"`
	// Bytes is the memory the entries are charged; MaxBytes bounds it (tokens.cache_max_bytes).
	Bytes    int64 `json:"bytes"`
	MaxBytes int64 `json:"max_bytes"`
	// Hits and Misses count lookups; a cached token found past its exp counts as a miss and as
	// Expired.
	Hits    uint64 `json:"hits"`
	Misses  uint64 `json:"misses"`
	Expired uint64 `json:"expired"`
	// Evictions counts entries pushed out to make room.
	Evictions uint64 `json:"evictions"`
}

func newVerifiedCache(size int, maxBytes int64) (*verifiedCache, error) {
	c, err := bytelru.New[cacheKey, cacheEntry](maxBytes, size)
	if err != nil {
		return nil, fmt.Errorf("verified-token cache: %w", err)
	}
	return &verifiedCache{entries: c}, nil
}

func keyOf(raw string) cacheKey { return sha256.Sum256([]byte(raw)) }

// get returns the cached principal for key when the entry is still before its expiry at now.
func (c *verifiedCache) get(key cacheKey, now time.Time) (*Principal, bool) {
	e, ok := c.entries.Get(key)
	if !ok {
		c.misses.Add(1)
		return nil, false
	}
	if !now.Before(e.expiresAt) {
		c.entries.Remove(key)
		c.expired.Add(1)
		c.misses.Add(1)
		return nil, false
	}
	c.hits.Add(1)
	return e.principal, true
}

// add caches p until expiresAt, charged entryCost(p); entries already expired at now are not
// stored.
func (c *verifiedCache) add(key cacheKey, p *Principal, expiresAt, now time.Time) {
	if !now.Before(expiresAt) {
		return
	}
	c.entries.Add(key, cacheEntry{principal: p, expiresAt: expiresAt}, entryCost(p))
}

// remove drops key, for a token found revoked.
func (c *verifiedCache) remove(key cacheKey) { c.entries.Remove(key) }

func (c *verifiedCache) stats() CacheStats {
	st := c.entries.Stats()
	return CacheStats{
		Entries:   st.Entries,
		Capacity:  st.MaxEntries,
		Bytes:     st.Bytes,
		MaxBytes:  st.MaxBytes,
		Hits:      c.hits.Load(),
		Misses:    c.misses.Load(),
		Expired:   c.expired.Load(),
		Evictions: st.Evicted,
	}
}

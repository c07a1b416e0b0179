// Package bytelru is a least-recently-used cache bounded by the bytes charged to its entries as
// well as by their count. The caller says what each entry costs when it adds it; the cache keeps
// the running total exact across replacements, removals and evictions, and drops the least
// recently used entries until both bounds hold. Verdict's verified-token cache and decision
// cache are built on it. It knows nothing of what it stores.
package bytelru

import (
	"fmt"
	"sync"
	"sync/atomic"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Cache maps keys of type K to values of type V. It is safe for concurrent use.
type Cache[K comparable, V any] struct {
	lru        *lru.Cache[K, item[V]]
	maxBytes   int64
	maxEntries int
	// adding serializes Add, so that its evictions bring the total under the bound it saw.
	adding  sync.Mutex
	bytes   atomic.Int64
	evicted atomic.Uint64
}

type item[V any] struct {
	value V
	size  int64
}

// Stats are a cache's size and its evictions since it was built.
type Stats struct {
	// Entries is the number of entries now, and Bytes what they are charged.
	Entries int
	Bytes   int64
	// MaxEntries and MaxBytes are the bounds.
	MaxEntries int
	MaxBytes   int64
	// Evicted counts entries dropped to make room (not those removed or replaced).
	Evicted uint64
}

// New returns a cache of at most maxEntries entries charged at most maxBytes together. Both
// must be positive.
func New[K comparable, V any](maxBytes int64, maxEntries int) (*Cache[K, V], error) {
	if maxBytes <= 0 || maxEntries <= 0 {
		return nil, fmt.Errorf("cache bounds must be positive, got %d bytes and %d entries", maxBytes, maxEntries)
	}
	c := &Cache[K, V]{maxBytes: maxBytes, maxEntries: maxEntries}
	// The callback runs for every entry that leaves (evicted, removed), so the total stays
	// exact whoever removes it.
	l, err := lru.NewWithEvict(maxEntries, func(_ K, it item[V]) { c.bytes.Add(-it.size) })
	if err != nil {
		return nil, err
	}
	c.lru = l
	return c, nil
}

// Get returns the value under key and marks it recently used.
func (c *Cache[K, V]) Get(key K) (V, bool) {
	it, ok := c.lru.Get(key)
	return it.value, ok
}

// Peek returns the value under key without marking it used.
func (c *Cache[K, V]) Peek(key K) (V, bool) {
	it, ok := c.lru.Peek(key)
	return it.value, ok
}

// Keys returns the keys, oldest first.
func (c *Cache[K, V]) Keys() []K { return c.lru.Keys() }

// Add stores v under key, charged size bytes, replacing what key held, then evicts the least
// recently used entries until the cache is within both bounds. It reports whether v was
// stored: an entry charged more than the whole byte bound is not.
func (c *Cache[K, V]) Add(key K, v V, size int64) bool {
	if size > c.maxBytes {
		return false
	}
	c.adding.Lock()
	defer c.adding.Unlock()
	// Removed rather than overwritten, so the callback uncharges the old entry; a replacement
	// is not an eviction.
	c.lru.Remove(key)
	c.bytes.Add(size)
	if c.lru.Add(key, item[V]{value: v, size: size}) {
		c.evicted.Add(1)
	}
	for c.bytes.Load() > c.maxBytes {
		if _, _, ok := c.lru.RemoveOldest(); !ok {
			break
		}
		c.evicted.Add(1)
	}
	return true
}

// Purge drops every entry.
func (c *Cache[K, V]) Purge() { c.lru.Purge() }

// Remove drops key and reports whether it was present.
func (c *Cache[K, V]) Remove(key K) bool { return c.lru.Remove(key) }

// Stats returns the cache's size, bounds and evictions.
func (c *Cache[K, V]) Stats() Stats {
	return Stats{
		Entries: c.lru.Len(), Bytes: c.bytes.Load(), MaxEntries: c.maxEntries, MaxBytes: c.maxBytes,
		Evicted: c.evicted.Load(),
	}
}

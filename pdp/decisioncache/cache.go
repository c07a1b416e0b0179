// Package decisioncache remembers decisions already made, so that a request equal to one
// answered before, in everything that reaches the policy, is answered without evaluating the
// policy again.
//
// A decision may be reused only when it is exact: the same verified principal (the very same
// cached token verification, compared by identity, not by a hash, and held only weakly, so the
// cache never keeps a principal alive that the token cache has let go), the same request bytes,
// the same second of the clock when the policy reads it (the policy input's context.time and
// time.now_ns have one-second resolution; engine.Snapshot.ReadsClock), the same policy
// revision, and a policy whose answer depends on nothing else (engine.Snapshot.Repeatable). The
// callers make the key from the first three, passing the zero time when the policy does not read
// the clock; the cache checks the principal and the revision on every hit. It knows nothing of
// HTTP or OPA.
//
// The cache is bounded by bytes: each entry is charged its key, its value's size as the caller
// estimates it and a fixed overhead, and the least recently used entries go first.
package decisioncache

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"
	"weak"

	"github.com/verdict-pdp/verdict/pdp/bytelru"
)

// entryOverhead is charged to every entry on top of its key and value: the LRU's list element
// and map slot, the entry struct and the key's string header, rounded up.
const entryOverhead = 192

// minEntryBytes is the smallest charge an entry can have; it turns the byte bound into the
// LRU's count bound, which then never binds first.
const minEntryBytes = entryOverhead

// Cache maps request keys to values of type V (a decision and what its log record needs),
// each made for one owner of type O (the verified principal). It is safe for concurrent use.
type Cache[O, V any] struct {
	entries *bytelru.Cache[string, entry[O, V]]
	hits    atomic.Uint64
	misses  atomic.Uint64
}

type entry[O, V any] struct {
	owner    weak.Pointer[O]
	revision string
	value    V
}

// Stats are the cache's counters since it was built.
type Stats struct {
	Entries  int    `json:"entries"`
	Bytes    int64  `json:"bytes"`
	MaxBytes int64  `json:"max_bytes"`
	Hits     uint64 `json:"hits"`
	Misses   uint64 `json:"misses"`
	Evicted  uint64 `json:"evicted"`
}

// New returns a cache holding at most maxBytes, which must be positive.
func New[O, V any](maxBytes int64) (*Cache[O, V], error) {
	if maxBytes <= 0 {
		return nil, fmt.Errorf("decision cache: size must be positive, got %d bytes", maxBytes)
	}
	entries, err := bytelru.New[string, entry[O, V]](maxBytes, int(max(1, maxBytes/minEntryBytes)))
	if err != nil {
		return nil, fmt.Errorf("decision cache: %w", err)
	}
	return &Cache[O, V]{entries: entries}, nil
}

// Key builds the key of a request: kind (which API built the input, so two APIs that read the
// same bytes differently never meet), the principal's address, the second of now and the
// request bytes that, with those, make the whole policy input. An address can be reused once
// its principal is collected; Get tells the two apart.
func Key[O any](kind byte, owner *O, now time.Time, request []byte) string {
	b := make([]byte, 0, 1+8+8+len(request))
	b = append(b, kind)
	b = binary.LittleEndian.AppendUint64(b, uint64(uintptr(unsafe.Pointer(owner))))
	b = binary.LittleEndian.AppendUint64(b, uint64(now.Unix()))
	b = append(b, request...)
	return string(b)
}

// Get returns the value stored under key for this owner and revision. An entry whose owner is
// another (one collected, whose address owner now has) or whose revision is another is a miss.
func (c *Cache[O, V]) Get(key string, owner *O, revision string) (V, bool) {
	e, ok := c.entries.Get(key)
	if !ok || e.owner.Value() != owner || e.revision != revision {
		c.misses.Add(1)
		var zero V
		return zero, false
	}
	c.hits.Add(1)
	return e.value, true
}

// Add stores v under key for owner and revision, charging valueBytes for v, then evicts the
// least recently used entries until the cache is within its bound. An entry larger than the
// whole bound is not stored.
func (c *Cache[O, V]) Add(key string, owner *O, revision string, v V, valueBytes int) {
	size := int64(len(key)+len(revision)+valueBytes) + entryOverhead
	c.entries.Add(key, entry[O, V]{owner: weak.Make(owner), revision: revision, value: v}, size)
}

// Purge drops every decision, when a new policy revision makes them all unusable.
func (c *Cache[O, V]) Purge() { c.entries.Purge() }

// Stats returns the cache's counters.
func (c *Cache[O, V]) Stats() Stats {
	st := c.entries.Stats()
	return Stats{
		Entries: st.Entries, Bytes: st.Bytes, MaxBytes: st.MaxBytes,
		Hits: c.hits.Load(), Misses: c.misses.Load(), Evicted: st.Evicted,
	}
}

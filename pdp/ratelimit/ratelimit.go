// Package ratelimit keeps a token bucket per client key (a remote address, a client id, a
// subject) in a bounded least-recently-used table, for server.rate_limit. It knows nothing of
// HTTP or tokens: the caller chooses the key.
package ratelimit

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Limiter answers whether a key may make one more request now.
type Limiter struct {
	rate  float64 // tokens per second
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets *simplelru.LRU[string, *bucket]
}

type bucket struct {
	tokens float64
	last   time.Time
}

// New returns a Limiter that lets each key make rate requests a second on average and burst
// at once, remembering at most maxKeys keys: a forgotten key starts again with a full bucket,
// so maxKeys bounds memory, not the limit of the clients it keeps. now is the clock; nil
// means time.Now.
func New(rate float64, burst, maxKeys int, now func() time.Time) (*Limiter, error) {
	if rate <= 0 || burst < 1 {
		return nil, fmt.Errorf("rate limit: rate and burst must be positive")
	}
	buckets, err := simplelru.NewLRU[string, *bucket](maxKeys, nil)
	if err != nil {
		return nil, fmt.Errorf("rate limit: %w", err)
	}
	if now == nil {
		now = time.Now
	}
	return &Limiter{rate: rate, burst: float64(burst), now: now, buckets: buckets}, nil
}

// Allow takes a token from key's bucket. When the bucket is empty it returns false and how
// long until a token is there again.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets.Get(key)
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets.Add(key, b)
	}
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = math.Min(l.burst, b.tokens+elapsed*l.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// Len is the number of keys the Limiter remembers.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buckets.Len()
}

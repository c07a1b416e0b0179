package token

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a settable test clock.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.set(t)
	return c
}

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) set(t time.Time)         { c.ns.Store(t.UnixNano()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// fakeRevocation revokes the jtis in revoked and fails while err is set; it counts calls.
type fakeRevocation struct {
	mu      sync.Mutex
	revoked map[string]bool
	err     error
	calls   int
}

func (r *fakeRevocation) Revoked(_ context.Context, p *Principal) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.err != nil {
		return false, r.err
	}
	return r.revoked[p.TokenID], nil
}

func (r *fakeRevocation) set(jti string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.revoked == nil {
		r.revoked = map[string]bool{}
	}
	if jti != "" {
		r.revoked[jti] = true
	}
	r.err = err
}

func (r *fakeRevocation) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

func TestCache(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)

	t.Run("second verify is a hit", func(t *testing.T) {
		v := f.verifier(t, Deps{})
		tok := f.rs256(t, nil, claims(nil))
		p1, err := v.Verify(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		p2, err := v.Verify(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		if p1 != p2 {
			t.Fatal("second Verify did not come from the cache")
		}
		if st := v.Stats().Cache; st.Hits != 1 || st.Misses != 1 || st.Entries != 1 {
			t.Fatalf("stats = %+v, want 1 hit, 1 miss, 1 entry", st)
		}
	})

	t.Run("a token differing in one character is not served from the cache", func(t *testing.T) {
		v := f.verifier(t, Deps{})
		tok := f.rs256(t, nil, claims(nil))
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
		for _, variant := range []string{nonCanonicalLast(tok), tok[:len(tok)-1] + flip(tok[len(tok)-1]), replacePayload(t, tok, claims(clm{"sub": "mallory"}))} {
			if _, err := v.Verify(ctx, variant); !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("variant accepted: %v", err)
			}
		}
		if st := v.Stats().Cache; st.Hits != 0 || st.Entries != 1 {
			t.Fatalf("stats = %+v, want no hits and one entry", st)
		}
	})

	t.Run("a cached token past exp is refused", func(t *testing.T) {
		clk := newClock(testNow)
		v := f.verifier(t, Deps{Now: clk.now})
		tok := f.rs256(t, nil, claims(nil)) // exp testNow+10m
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
		clk.advance(9 * time.Minute)
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatalf("before exp: %v", err)
		}
		clk.advance(2 * time.Minute) // past exp + leeway (30s)
		if _, err := v.Verify(ctx, tok); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("after exp: err = %v, want ErrInvalidToken", err)
		}
		if st := v.Stats().Cache; st.Expired != 1 || st.Hits != 1 || st.Entries != 0 {
			t.Fatalf("stats = %+v, want 1 expired, 1 hit, 0 entries", st)
		}
	})

	t.Run("a cached entry ends at exp, not exp plus leeway", func(t *testing.T) {
		clk := newClock(testNow)
		v := f.verifier(t, Deps{Now: clk.now})
		tok := f.rs256(t, nil, claims(nil))
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
		clk.advance(10*time.Minute + 10*time.Second) // inside leeway: re-verified, not cached
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatalf("inside leeway: %v", err)
		}
		if st := v.Stats().Cache; st.Hits != 0 || st.Expired != 1 || st.Entries != 0 {
			t.Fatalf("stats = %+v, want the entry expired at exp and not re-added", st)
		}
	})

	t.Run("LRU bound", func(t *testing.T) {
		cfg := f.cfg
		cfg.CacheSize = 2
		v, err := New(cfg, Deps{Now: func() time.Time { return testNow }})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if _, err := v.Verify(ctx, f.es256(t, nil, claims(clm{"jti": fmt.Sprint(i)}))); err != nil {
				t.Fatal(err)
			}
		}
		if st := v.Stats().Cache; st.Entries != 2 || st.Evictions != 1 || st.Capacity != 2 {
			t.Fatalf("stats = %+v, want 2 entries, 1 eviction", st)
		}
	})

	t.Run("byte bound", func(t *testing.T) {
		one := f.es256(t, nil, claims(clm{"jti": "size"}))
		p, err := f.verifier(t, Deps{}).Verify(ctx, one)
		if err != nil {
			t.Fatal(err)
		}
		cfg := f.cfg
		cfg.CacheMaxBytes = 3*entryCost(p) + entryCost(p)/2 // room for three such tokens
		v, err := New(cfg, Deps{Now: func() time.Time { return testNow }})
		if err != nil {
			t.Fatal(err)
		}
		toks := make([]string, 10)
		for i := range toks {
			toks[i] = f.es256(t, nil, claims(clm{"jti": fmt.Sprint("t", i)}))
			if _, err := v.Verify(ctx, toks[i]); err != nil {
				t.Fatal(err)
			}
		}
		st := v.Stats().Cache
		if st.Entries != 3 || st.Evictions != 7 || st.Bytes > st.MaxBytes || st.MaxBytes != cfg.CacheMaxBytes {
			t.Fatalf("stats = %+v, want 3 entries within %d bytes, 7 evictions", st, cfg.CacheMaxBytes)
		}
		if _, err := v.Verify(ctx, toks[9]); err != nil || v.Stats().Cache.Hits != 1 {
			t.Fatalf("the newest token is not served from the cache: %v", err)
		}
	})
}

func TestRevocation(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)

	t.Run("checked on every request, cache hits included", func(t *testing.T) {
		rev := &fakeRevocation{}
		v := f.verifier(t, Deps{Revocation: rev})
		tok := f.rs256(t, nil, claims(nil))
		for range 3 {
			if _, err := v.Verify(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
		if rev.count() != 3 {
			t.Fatalf("revocation checked %d times, want 3", rev.count())
		}
		rev.set("jti-1", nil)
		if _, err := v.Verify(ctx, tok); !errors.Is(err, ErrInvalidToken) || !errors.Is(err, ErrRevoked) {
			t.Fatalf("revoked cached token: err = %v, want ErrInvalidToken and ErrRevoked", err)
		}
		if st := v.Stats().Cache; st.Entries != 0 {
			t.Fatalf("revoked token still cached: %+v", st)
		}
		if _, err := v.Verify(ctx, tok); !errors.Is(err, ErrRevoked) {
			t.Fatalf("revoked token re-verified: err = %v", err)
		}
	})

	t.Run("a store error is ErrUnavailable, on hits and misses", func(t *testing.T) {
		rev := &fakeRevocation{}
		v := f.verifier(t, Deps{Revocation: rev})
		cached := f.rs256(t, nil, claims(nil))
		if _, err := v.Verify(ctx, cached); err != nil {
			t.Fatal(err)
		}
		storeDown := errors.New("store down")
		rev.set("", storeDown)
		for name, tok := range map[string]string{"hit": cached, "miss": f.es256(t, nil, claims(nil))} {
			_, err := v.Verify(ctx, tok)
			if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrInvalidToken) || !errors.Is(err, storeDown) {
				t.Fatalf("%s: err = %v, want ErrUnavailable wrapping the store error", name, err)
			}
		}
		rev.set("", nil)
		if _, err := v.Verify(ctx, cached); err != nil {
			t.Fatalf("after recovery: %v", err)
		}
	})

	t.Run("not asked about tokens that fail verification", func(t *testing.T) {
		rev := &fakeRevocation{}
		v := f.verifier(t, Deps{Revocation: rev})
		if _, err := v.Verify(ctx, f.rs256(t, hdr{"typ": "JWT"}, claims(nil))); !errors.Is(err, ErrInvalidToken) {
			t.Fatal(err)
		}
		if rev.count() != 0 {
			t.Fatalf("revocation asked %d times about an invalid token", rev.count())
		}
	})
}

// TestVerifyConcurrent runs many goroutines over shared and distinct tokens, for -race.
func TestVerifyConcurrent(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(t, Deps{Revocation: &fakeRevocation{}})
	tokens := []string{
		f.rs256(t, nil, claims(nil)),
		f.es256(t, nil, claims(nil)),
		f.es256(t, nil, claims(clm{"jti": "2"})),
		f.rs256(t, hdr{"typ": "JWT"}, claims(nil)),
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 50 {
				tok := tokens[(g+i)%len(tokens)]
				_, err := v.Verify(context.Background(), tok)
				if (tok == tokens[3]) != (err != nil) {
					t.Errorf("token %d: err = %v", (g+i)%len(tokens), err)
				}
				_ = v.Stats()
			}
		})
	}
	wg.Wait()
}

// Derived builds once per principal, whatever the number of goroutines asking.
func TestDerived(t *testing.T) {
	p := &Principal{Subject: "alice"}
	var builds atomic.Int64
	var wg sync.WaitGroup
	got := make([]any, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = p.Derived(func() any {
				builds.Add(1)
				return new(int)
			})
		}()
	}
	wg.Wait()
	for i := range got {
		if got[i] != got[0] {
			t.Fatalf("call %d got %p, call 0 got %p: not one value", i, got[i], got[0])
		}
	}
	if n := builds.Load(); n < 1 || n > int64(len(got)) {
		t.Errorf("%d builds", n)
	}
	if again := p.Derived(func() any { t.Error("built again"); return nil }); again != got[0] {
		t.Error("a later call got another value")
	}
}

package token

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkVerifyCached measures a cache hit: hash the token, look it up, check revocation.
func BenchmarkVerifyCached(b *testing.B) {
	f := newFixture(b)
	v := f.verifier(b, Deps{Revocation: &fakeRevocation{}})
	for _, alg := range []string{"RS256", "ES256"} {
		b.Run(alg, func(b *testing.B) {
			tok := benchToken(b, f, alg, "cached")
			if _, err := v.Verify(context.Background(), tok); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(context.Background(), tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyUncached measures the full path: route, parse, verify the signature, check
// claims, map the principal, cache it. A cache of one entry and two alternating tokens makes
// every call a miss.
func BenchmarkVerifyUncached(b *testing.B) {
	f := newFixture(b)
	f.cfg.CacheSize = 1
	v := f.verifier(b, Deps{Revocation: &fakeRevocation{}})
	for _, alg := range []string{"RS256", "ES256"} {
		b.Run(alg, func(b *testing.B) {
			toks := [2]string{benchToken(b, f, alg, "a"), benchToken(b, f, alg, "b")}
			b.ReportAllocs()
			// -count reruns share v and may mint the very tokens of the run before, so the first
			// verification may hit what that run left cached; no other may.
			before := v.Stats().Cache.Hits
			i := 0
			for b.Loop() {
				if _, err := v.Verify(context.Background(), toks[i&1]); err != nil {
					b.Fatal(err)
				}
				i++
			}
			if hits := v.Stats().Cache.Hits - before; hits > 1 {
				b.Fatalf("%d cache hits in an uncached benchmark", hits)
			}
		})
	}
}

func benchToken(b *testing.B, f *fixture, alg, jti string) string {
	c := claims(clm{"jti": jti})
	if alg == "RS256" {
		return f.rs256(b, nil, c)
	}
	return f.es256(b, nil, c)
}

// BenchmarkIntrospection measures an opaque token: a call to an in-process authorization
// server over loopback HTTP (the positive cache off), and a cache hit.
func BenchmarkIntrospection(b *testing.B) {
	f := newFixture(b)
	as := newASServer(b)
	as.answer("bench", activeAnswer(nil))
	for _, tc := range []struct {
		name string
		ttl  time.Duration
	}{{"call", 0}, {"cached", time.Minute}} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := f.introspectionConfig(as)
			cfg.Introspection.CacheTTL = new(tc.ttl)
			v := newRemoteVerifier(b, cfg, newClock(testNow), Deps{Revocation: &fakeRevocation{}})
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(context.Background(), "bench"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// fullCache returns a Verifier whose cache holds n principals under the raw tokens "tok-0" …
// "tok-<n-1>", their jtis "jti-0" …, and the revocation store it asks. The cache is reached by
// key before any parsing, so these need not be JWTs.
func fullCache(b *testing.B, n int) (*Verifier, *fakeRevocation) {
	f := newFixture(b)
	f.cfg.CacheSize, f.cfg.CacheMaxBytes = n, 1<<30
	rev := &fakeRevocation{}
	v := f.verifier(b, Deps{Revocation: rev})
	for i := range n {
		p := &Principal{Kind: "jwt", Issuer: testIssuer, Subject: "alice", TokenID: fmt.Sprint("jti-", i)}
		v.cache.add(keyOf(fmt.Sprint("tok-", i)), p, testNow.Add(time.Hour), testNow)
	}
	return v, rev
}

// BenchmarkRevocation measures what a revocation costs a replica with a full verified-token
// cache: recording it with the store (here a map) and refusing the revoked token at its next
// use, which drops it from the cache. Each op first caches the token again under a new jti.
// The cost does not grow with the cache: a revocation never scans it.
func BenchmarkRevocation(b *testing.B) {
	for _, size := range []int{1000, 100_000} {
		b.Run(fmt.Sprint("cache=", size), func(b *testing.B) {
			v, rev := fullCache(b, size)
			i := 0
			for b.Loop() {
				raw, jti := fmt.Sprint("tok-", i%size), fmt.Sprint("jti-r", i)
				v.cache.add(keyOf(raw), &Principal{Kind: "jwt", Issuer: testIssuer, TokenID: jti}, testNow.Add(time.Hour), testNow)
				rev.set(jti, nil)
				if _, err := v.Verify(context.Background(), raw); !errors.Is(err, ErrRevoked) {
					b.Fatalf("revoked token: %v", err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "revocations/s")
		})
	}
}

// BenchmarkVerifyCachedDuringRevocations measures cache hits on a 100,000-entry cache, alone
// and while 1,000 revocations a second are applied, each refusing and dropping one cached token.
func BenchmarkVerifyCachedDuringRevocations(b *testing.B) {
	const size = 100_000
	for _, perSecond := range []int{0, 1000} {
		b.Run(fmt.Sprint("rate=", perSecond), func(b *testing.B) {
			v, rev := fullCache(b, size)
			stop, done := make(chan struct{}), make(chan int)
			go func() { done <- revokeAtRate(v, rev, perSecond, size/2, stop) }()
			var next atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					// Only the lower half of the cache is read; the revoker takes the upper half.
					raw := fmt.Sprint("tok-", next.Add(1)%(size/2))
					if _, err := v.Verify(context.Background(), raw); err != nil {
						b.Fatal(err)
					}
				}
			})
			close(stop)
			b.ReportMetric(float64(<-done), "revoked")
		})
	}
}

// revokeAtRate revokes the cached tokens from index first on, perSecond of them a second in
// ticks of 10 ms, until stop; it returns how many it revoked.
func revokeAtRate(v *Verifier, rev *fakeRevocation, perSecond, first int, stop <-chan struct{}) int {
	n := 0
	if perSecond == 0 {
		<-stop
		return n
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return n
		case <-tick.C:
			for range perSecond / 100 {
				rev.set(fmt.Sprint("jti-", first+n), nil)
				if _, err := v.Verify(context.Background(), fmt.Sprint("tok-", first+n)); errors.Is(err, ErrRevoked) {
					n++
				}
			}
		}
	}
}

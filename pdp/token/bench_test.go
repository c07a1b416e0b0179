package token

import (
	"context"
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
			i := 0
			for b.Loop() {
				if _, err := v.Verify(context.Background(), toks[i&1]); err != nil {
					b.Fatal(err)
				}
				i++
			}
			if hits := v.Stats().Cache.Hits; hits != 0 {
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

package revocation

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/verdict-pdp/verdict/pdp/revocation/revocationtest"
)

// benchmarkRevoked measures the check every request pays: a store holding 2,000 revoked
// tokens and 200 revoked subjects, asked about a token that is not revoked (the common case:
// both lookups miss) from parallel goroutines.
func benchmarkRevoked(b *testing.B, cfg Config) {
	s, err := Open(context.Background(), cfg, Deps{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	now := time.Now()
	for i := range 2000 {
		if _, err := s.RevokeToken(ctx, iss, fmt.Sprintf("jti-%d", i), now.Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
		if i%10 == 0 {
			if _, err := s.RevokeSubject(ctx, iss, fmt.Sprintf("sub-%d", i), now); err != nil {
				b.Fatal(err)
			}
		}
	}
	p := principal("live-token", "alice", now)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if revoked, err := s.Revoked(ctx, p); err != nil || revoked {
				b.Fatalf("Revoked = %v, %v", revoked, err)
			}
		}
	})
}

func BenchmarkRevokedFile(b *testing.B) {
	benchmarkRevoked(b, testConfig(StoreFile, filepath.Join(b.TempDir(), "r.db")))
}

func BenchmarkRevokedRedis(b *testing.B) {
	benchmarkRevoked(b, testConfig(StoreRedis, revocationtest.StartRedis(b).URL))
}

// BenchmarkOpenFile100k measures start-up on a file of 100,000 live revocations: opening it,
// reading every record, bbolt's consistency check, and the purge.
func BenchmarkOpenFile100k(b *testing.B) {
	cfg := testConfig(StoreFile, filepath.Join(b.TempDir(), "r.db"))
	s, err := Open(context.Background(), cfg, Deps{})
	if err != nil {
		b.Fatal(err)
	}
	fillFileStore(b, s, 100_000)
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		s, err := Open(context.Background(), cfg, Deps{})
		if err != nil {
			b.Fatal(err)
		}
		_ = s.Close()
	}
}

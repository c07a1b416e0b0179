package bundle

import (
	"context"
	"path/filepath"
	"testing"
)

// policiesArchive builds the repository's policies, the bundle most deployments start from.
func policiesArchive(b *testing.B) []byte {
	b.Helper()
	raw, err := Build([]string{filepath.Join("..", "..", "policies")}, BuildOptions{MaxBytes: testLimit})
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

// BenchmarkParse is the per-revision cost of reading a bundle before the engine compiles it.
func BenchmarkParse(b *testing.B) {
	raw := policiesArchive(b)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := Parse(raw, ReadOptions{MaxBytes: testLimit}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseVerified adds signature verification (Ed25519) to BenchmarkParse.
func BenchmarkParseVerified(b *testing.B) {
	raw, err := Sign(policiesArchive(b), testLimit, SignOptions{Key: testKeys()["ed25519"].priv})
	if err != nil {
		b.Fatal(err)
	}
	v, err := NewVerifier(map[string][]byte{DefaultKeyID: testKeys()["ed25519"].pub}, DefaultKeyID, "")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := Parse(raw, ReadOptions{MaxBytes: testLimit, Verifier: v}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	raw := policiesArchive(b)
	key := testKeys()["ec256"].priv
	for b.Loop() {
		if _, err := Sign(raw, testLimit, SignOptions{Key: key}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPack is the cost of reading a directory source once it changed.
func BenchmarkPack(b *testing.B) {
	dir := filepath.Join("..", "..", "policies")
	for b.Loop() {
		if _, err := Pack(dir, testLimit); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRequireTestsGate is what policy.require_tests costs a new revision of the
// repository's policies: their Rego tests, with coverage traced as `verdict test` traces it, and
// without, as the gate runs them.
func BenchmarkRequireTestsGate(b *testing.B) {
	bu, err := Load(filepath.Join("..", "..", "policies"), testLimit)
	if err != nil {
		b.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		skip bool
	}{{name: "coverage"}, {name: "gate", skip: true}} {
		b.Run(tt.name, func(b *testing.B) {
			for b.Loop() {
				r, err := Test(context.Background(), bu, TestOptions{RequireTests: true, SkipCoverage: tt.skip})
				if err != nil || r.Err() != nil {
					b.Fatal(err, r.Err())
				}
			}
		})
	}
}

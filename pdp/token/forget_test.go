package token

import (
	"log/slog"
	"testing"
	"time"
)

func TestForgetKeys(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name      string
		issuer    string
		kids      []string
		remaining int
	}{
		{name: "one key", issuer: testIssuer, kids: []string{"k1"}, remaining: 3},
		{name: "two keys", issuer: testIssuer, kids: []string{"k1", "k2"}, remaining: 2},
		{name: "another issuer's key of the same id", issuer: otherIssuer, kids: []string{"k1"}, remaining: 4},
		{name: "no such key", issuer: testIssuer, kids: []string{"k9"}, remaining: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cache, err := newVerifiedCache(10, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			v := &Verifier{cache: cache, log: slog.New(slog.DiscardHandler)}
			for raw, p := range map[string]*Principal{
				"a": {Kind: "jwt", Issuer: testIssuer, keyID: "k1"},
				"b": {Kind: "jwt", Issuer: testIssuer, keyID: "k1"},
				"c": {Kind: "jwt", Issuer: testIssuer, keyID: "k2"},
				"d": {Kind: "jwt", Issuer: otherIssuer, keyID: "k1"},
				"e": {Kind: "opaque", Issuer: testIssuer},
			} {
				cache.add(keyOf(raw), p, now.Add(time.Hour), now)
			}
			v.forgetKeys(tt.issuer, tt.kids)
			if got := cache.stats().Entries; got != tt.remaining {
				t.Errorf("%d cached, want %d", got, tt.remaining)
			}
		})
	}
}

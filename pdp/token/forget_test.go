package token

import (
	"testing"
	"time"
)

func TestForget(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name      string
		match     func(*Principal) bool
		want      int
		remaining int
	}{
		{name: "one jti", match: func(p *Principal) bool { return p.TokenID == "j1" }, want: 1, remaining: 2},
		{name: "one subject", match: func(p *Principal) bool { return p.Subject == "mallory" }, want: 2, remaining: 1},
		{name: "nothing", match: func(*Principal) bool { return false }, want: 0, remaining: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cache, err := newVerifiedCache(10)
			if err != nil {
				t.Fatal(err)
			}
			v := &Verifier{cache: cache}
			for raw, p := range map[string]*Principal{
				"a": {Subject: "alice", TokenID: "j1"},
				"b": {Subject: "mallory", TokenID: "j2"},
				"c": {Subject: "mallory", TokenID: "j3"},
			} {
				cache.add(keyOf(raw), p, now.Add(time.Hour), now)
			}
			if got := v.Forget(tt.match); got != tt.want {
				t.Errorf("Forget = %d, want %d", got, tt.want)
			}
			if got := cache.lru.Len(); got != tt.remaining {
				t.Errorf("%d cached, want %d", got, tt.remaining)
			}
		})
	}
}

package httpapi

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/verdict-pdp/verdict/pdp/engine"
	"github.com/verdict-pdp/verdict/pdp/request"
	"github.com/verdict-pdp/verdict/pdp/token"
)

// TestTokenCacheCharge checks that what the verified-token cache charges a token
// (tokens.cache_max_bytes counts it) stays within a factor of what caching it costs: the heap
// held by the cached principal and by the policy values ApplyPrincipal builds from it, measured
// over many tokens of one shape. A change to either that the estimate does not follow fails here.
func TestTokenCacheCharge(t *testing.T) {
	groups := make([]string, 60)
	for i := range groups {
		groups[i] = fmt.Sprintf("group-%02d", i)
	}
	tests := []struct {
		name   string
		claims map[string]any
	}{
		{name: "typical token", claims: nil},
		{name: "6 KB token", claims: map[string]any{"pad": strings.Repeat("x", 4300)}},
		{name: "many small claims", claims: map[string]any{"groups": groups}},
		{name: "nested claims", claims: map[string]any{"realm_access": map[string]any{
			"roles": []string{"a", "b", "c"}, "meta": map[string]any{"x": 1, "y": []int{1, 2, 3}}}}},
	}
	const n = 1000
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, false)
			v := f.srv.deps.Tokens.(*token.Verifier)
			toks := make([]string, n)
			for i := range toks {
				toks[i] = f.token(t, tt.claims)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for _, tok := range toks {
				p, err := v.Verify(context.Background(), tok)
				if err != nil {
					t.Fatal(err)
				}
				request.ApplyPrincipal(&engine.Input{}, p)
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			st := v.Stats().Cache
			if st.Entries != n {
				t.Fatalf("%d tokens cached, want %d", st.Entries, n)
			}
			measured := float64(after.HeapAlloc-before.HeapAlloc) / n
			charged := float64(st.Bytes) / n
			t.Logf("%d-byte token: %.0f bytes measured, %.0f charged per entry (ratio %.2f)",
				len(toks[0]), measured, charged, measured/charged)
			if measured > 1.5*charged || measured < charged/1.5 {
				t.Errorf("an entry costs %.0f bytes and is charged %.0f: the estimate (pdp/token/cost.go) is off by more than 1.5x", measured, charged)
			}
			runtime.KeepAlive(toks)
		})
	}
}

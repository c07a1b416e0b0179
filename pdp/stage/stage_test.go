package stage

import (
	"runtime/pprof"
	"testing"
)

func TestLabels(t *testing.T) {
	seen := map[string]bool{}
	for n := range count {
		v, ok := pprof.Label(labelled[n], "stage")
		if !ok || v != n.String() || seen[v] {
			t.Errorf("stage %d: label %q, %v; want the distinct value %q", n, v, ok, n.String())
		}
		seen[v] = true
	}
	if got := Name(-1).String(); got != "unknown" {
		t.Errorf("Name(-1) = %q", got)
	}
}

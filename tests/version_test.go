package tests

import (
	"strings"
	"testing"
)

// TestVersionFlag pins that `verdict --version` says what `verdict version` says.
func TestVersionFlag(t *testing.T) {
	want := verdictCLI(t, t.TempDir(), false, "version")
	if !strings.HasPrefix(want, "verdict ") || !strings.Contains(want, "(opa ") {
		t.Fatalf("verdict version = %q, want \"verdict <version> (opa <version>)\"", want)
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{name: "long flag", args: []string{"--version"}},
		{name: "short flag", args: []string{"-v"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := verdictCLI(t, t.TempDir(), false, tc.args...); got != want {
				t.Errorf("verdict %s = %q, want %q", strings.Join(tc.args, " "), got, want)
			}
		})
	}
}

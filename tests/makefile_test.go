package tests

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMakeRunAddr pins that `make run ADDR=...` passes the address to serve, and that without
// ADDR serve keeps its configured address. It reads make's dry run, so nothing is built or served.
func TestMakeRunAddr(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{name: "another address", args: []string{"ADDR=127.0.0.1:9000"}, want: "./bin/verdict serve --dev --addr 127.0.0.1:9000"},
		{name: "default address", want: "./bin/verdict serve --dev"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command("make", append([]string{"--no-print-directory", "-n", "run"}, tc.args...)...)
			cmd.Dir = ".."
			// Under `make test-e2e` the outer make's flags and variables would leak in.
			cmd.Env = append(os.Environ(), "MAKEFLAGS=", "ADDR=")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("make -n run: %v\n%s", err, out)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if got := strings.TrimSpace(lines[len(lines)-1]); got != tc.want {
				t.Errorf("make run runs %q, want %q", got, tc.want)
			}
		})
	}
}

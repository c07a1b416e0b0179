package tests

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"testing"
	"time"
)

// TestLoadScript runs tests/load/run.sh as make load-extauthz does, for one second over gRPC:
// it must find the server it started (both listeners' addresses, from its log), send checks
// that are all allowed, and report the server's CPU per check with the server and the generator
// pinned (LOAD_PIN=1).
func TestLoadScript(t *testing.T) {
	if _, err := exec.LookPath("taskset"); err != nil {
		t.Skip("taskset is not installed")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "tests/load/run.sh", verdictBin(t), "1s", "2", "-api", "grpc")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "LOAD_PIN=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("run.sh: %v\n%s", err, out)
	}
	for _, want := range []string{`(?m)^requests: [1-9][0-9]* ok, 0 failed`, `(?m)^server CPU: .* per request$`} {
		if !regexp.MustCompile(want).Match(out) {
			t.Errorf("run.sh printed nothing like %s:\n%s", want, out)
		}
	}
}

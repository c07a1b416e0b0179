package tests

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// copyPolicies copies the repository's policies/ into dir/policies.
func copyPolicies(t *testing.T, dir string) {
	t.Helper()
	src, err := filepath.Abs("../policies")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(dir, "policies"), os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
}

// editPolicy replaces old with new in the named files under dir/policies, each written in
// place as an editor saves it.
func editPolicy(t *testing.T, dir, old, new string, files ...string) {
	t.Helper()
	for _, name := range files {
		p := filepath.Join(dir, "policies", name)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte(old)) {
			t.Fatalf("%s has no %q", name, old)
		}
		if err := os.WriteFile(p, bytes.ReplaceAll(b, []byte(old), []byte(new)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// waitRevisionChange polls /v1/status every 10ms until the revision is not old, and returns
// the new one and how long that took from since.
func waitRevisionChange(t *testing.T, inst *instance, old string, since time.Time) (string, time.Duration) {
	t.Helper()
	for time.Since(since) < 15*time.Second {
		if st := getStatus(t, inst); st.Revision != old {
			return st.Revision, time.Since(since)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the revision stayed %s for 15s after the edit", old)
	return "", 0
}

// firstReason authorizes alice's editor read of doc-42 with tok and returns the first reason.
func firstReason(t *testing.T, inst *instance, tok string) string {
	t.Helper()
	resp := authorize(t, inst, tok, `{"action":"read","resource":{"type":"document","id":"doc-42","properties":{"tenant":"acme","owner":"alice","classification":"internal"}}}`)
	body := resp.json(t)
	reasons, _ := body["reasons"].([]any)
	if resp.Status != http.StatusOK || body["allow"] != true || len(reasons) == 0 {
		t.Fatalf("authorize: %d %s", resp.Status, resp.Body)
	}
	return reasons[0].(string)
}

// waitRefusal waits until /v1/status counts a refusal more than failures, and checks that the
// serving revision stayed rev, that the refusal has reason, and that the output printed it with
// a line containing output.
func waitRefusal(t *testing.T, inst *instance, failures uint64, rev, reason, output string) {
	t.Helper()
	// A read of a file caught half written may be refused for another reason first.
	st := waitStatus(t, inst, "a refusal for "+reason, func(st status) bool {
		return st.Policy.Failures > failures && st.Policy.LastAttempt != nil && st.Policy.LastAttempt.Reason == reason
	})
	if st.Revision != rev {
		t.Errorf("revision = %s after the refusal, want %s still serving", st.Revision, rev)
	}
	out := inst.output.String()
	if !strings.Contains(out, "bundle refused; the serving revision is unchanged") || !strings.Contains(out, output) {
		t.Errorf("the refusal and its reason (%q) are not printed:\n%s", output, out)
	}
}

// TestServeDevWatch: `serve --dev --watch` in a directory with policies/ serves those files,
// says so, serves a saved change of a rule within a few seconds (the times are logged;
// docs/policies.md reports them) and refuses a syntax error, printing why, while the serving
// revision stays; `eval --dev` there decides with the same files.
func TestServeDevWatch(t *testing.T) {
	dir := t.TempDir()
	copyPolicies(t, dir)
	inst := startVerdict(t, dir, "--dev", "--watch")
	if out := inst.output.String(); !strings.Contains(out, "Policy: directory ./policies, watched") {
		t.Fatalf("the banner does not name the watched directory:\n%s", out)
	}
	st := getStatus(t, inst)
	if st.Policy.Source != "./policies" || st.Policy.Kind != "directory" || !st.Policy.Watching || st.Policy.NextPoll != nil {
		t.Fatalf("status policy = %+v", st.Policy)
	}
	tok := regexp.MustCompile(`export TOKEN=(\S+)`).FindStringSubmatch(inst.output.String())[1]
	if got := firstReason(t, inst, tok); got != "rbac: role editor grants read on document" {
		t.Fatalf("first reason = %q", got)
	}

	saved := time.Now()
	editPolicy(t, dir, `"rbac: role `, `"rbac: the role `, "rbac.rego")
	rev, took := waitRevisionChange(t, inst, st.Revision, saved)
	t.Logf("a changed rule served after %v", took)
	if took > 5*time.Second {
		t.Errorf("a saved change took %v to serve, want under 5s", took)
	}
	if got := firstReason(t, inst, tok); got != "rbac: the role editor grants read on document" {
		t.Fatalf("after the edit, first reason = %q", got)
	}
	evalCmd := exec.Command(verdictBin(t), "eval", "--dev")
	evalCmd.Dir = dir
	evalCmd.Stdin = strings.NewReader(`{"subject":{"id":"alice","properties":{"roles":["editor"],"tenant":"acme"}},"action":"read",` +
		`"resource":{"type":"document","id":"d1","properties":{"tenant":"acme","owner":"alice"}}}`)
	if out, err := evalCmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "rbac: the role editor grants read on document") {
		t.Errorf("eval --dev does not decide with ./policies: error %v, output:\n%s", err, out)
	}

	// Five more saves, one at a time, to see the usual latency.
	var times []time.Duration
	for i := range 5 {
		saved := time.Now()
		editPolicy(t, dir, "package verdict.authz\n", fmt.Sprintf("package verdict.authz\n\n# save %d\n", i), "authz.rego")
		rev, took = waitRevisionChange(t, inst, rev, saved)
		if took > 5*time.Second {
			t.Errorf("save %d took %v to serve, want under 5s", i, took)
		}
		times = append(times, took)
	}
	slices.Sort(times)
	t.Logf("5 saves served after %v (median %v)", times, times[2])

	failures := getStatus(t, inst).Policy.Failures
	editPolicy(t, dir, "default allow := false", "default allow := ", "authz.rego")
	waitRefusal(t, inst, failures, rev, "invalid", "rego_parse_error")
	if got := firstReason(t, inst, tok); got != "rbac: the role editor grants read on document" {
		t.Errorf("after the refusal, first reason = %q", got)
	}
}

// TestServeDevWatchRequireTests: with policy.require_tests, a saved change that fails the
// policies' own tests is refused with the failing tests named, and the old revision serves.
func TestServeDevWatchRequireTests(t *testing.T) {
	dir := t.TempDir()
	copyPolicies(t, dir)
	inst := startVerdictEnv(t, dir, []string{"VERDICT_POLICY_REQUIRE_TESTS=true"}, "--dev", "--watch")
	st := getStatus(t, inst)
	editPolicy(t, dir, `"rbac: role `, `"rbac: the role `, "rbac.rego")
	waitRefusal(t, inst, st.Policy.Failures, st.Revision, "tests_failed", "FAIL data.verdict.authz_test.")
}

// TestServeDevBuiltin: `serve --dev` where there is no policies/ directory serves the policy
// compiled into the binary and says so; --watch there is a configuration error.
func TestServeDevBuiltin(t *testing.T) {
	inst := startVerdict(t, "", "--dev")
	if out := inst.output.String(); !strings.Contains(out, "Policy: the built-in copy compiled into this binary (no ./policies directory here") {
		t.Errorf("the banner does not say the built-in policy serves:\n%s", out)
	}
	if st := getStatus(t, inst); st.Policy.Kind != "built-in" || st.Policy.Source != "built-in" || st.Policy.Watching {
		t.Errorf("status policy = %+v", st.Policy)
	}
	out := verdictCLI(t, t.TempDir(), true, "serve", "--dev", "--watch", "--addr", freeAddr(t))
	if !strings.Contains(out, "policy.watch: needs policy.bundle to be a directory or a .tar.gz file") {
		t.Errorf("serve --dev --watch without ./policies:\n%s", out)
	}
}

package tests

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestPolicyCannotReachOut: a bundle whose Rego calls http.send (here to a loopback service
// standing for an internal API) is refused by `verdict test` and `verdict bundle build`, and,
// built anyway, refused at activation while the old revision keeps serving; the service never
// hears from it. policy.allow_builtins: [http.send] opts in.
func TestPolicyCannotReachOut(t *testing.T) {
	var hits atomic.Int64
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte(`{"secret": "s3cr3t"}`))
	}))
	defer internal.Close()
	exfil := t.TempDir()
	rego := fmt.Sprintf("package exfil\n\nleak := http.send({\"method\": \"GET\", \"url\": %q}).raw_body\n", internal.URL+"/internal")
	if err := os.WriteFile(filepath.Join(exfil, "exfil.rego"), []byte(rego), 0o600); err != nil {
		t.Fatal(err)
	}
	policies, err := filepath.Abs("../policies")
	if err != nil {
		t.Fatal(err)
	}
	const want = "exfil.rego:3: http.send (policy.allow_builtins opts in)"
	for _, args := range [][]string{
		{"test", exfil},
		{"bundle", "build", policies, exfil, "-o", filepath.Join(t.TempDir(), "b.tar.gz")},
	} {
		if out := verdictCLI(t, t.TempDir(), true, args...); !strings.Contains(out, want) {
			t.Errorf("verdict %s: output lacks %q:\n%s", args[0], want, out)
		}
	}

	host := newBundleHost(t, buildPolicies(t, "e2e-1"))
	dir := t.TempDir()
	is := newIssuer(t, dir, e2eIssuer)
	inst := startBundled(t, dir, is, fmt.Sprintf("  bundle: %s/verdict.tar.gz\n  poll_interval: 100ms\n", host.URL))
	reaching := buildPolicies(t, "e2e-exfil", exfil, "--allow-builtin", "http.send")
	host.set(reaching)
	st := waitStatus(t, inst, "the bundle refused", func(st status) bool {
		return st.Policy.LastAttempt != nil && st.Policy.LastAttempt.Result == "rejected"
	})
	if st.Revision != "e2e-1" || st.Policy.LastAttempt.Reason != "activation" || !strings.Contains(st.Policy.LastAttempt.Error, want) {
		t.Errorf("status after the bundle = revision %q, last attempt %+v", st.Revision, st.Policy.LastAttempt)
	}
	if got := answeredBy(t, inst, is); got != "e2e-1" {
		t.Errorf("answered by %q, want the old revision e2e-1", got)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the internal service got %d requests from the policy", n)
	}

	optedIn := startBundled(t, t.TempDir(), is, fmt.Sprintf("  bundle: %s/verdict.tar.gz\n  allow_builtins: [http.send]\n", host.URL))
	resp := postJSON(t, optedIn.URL+"/v1/data/exfil/leak", `{}`)
	if resp.Status != http.StatusOK || !strings.Contains(string(resp.Body), "s3cr3t") || hits.Load() == 0 {
		t.Errorf("opted in: status %d, body %s, %d requests to the service", resp.Status, resp.Body, hits.Load())
	}
}

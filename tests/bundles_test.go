package tests

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// bundleHost serves one bundle archive with an ETag, as a bundle server or object store does.
type bundleHost struct {
	*httptest.Server
	mu         sync.Mutex
	body, etag string
	down       bool
	downloads  int
}

func newBundleHost(t *testing.T, body []byte) *bundleHost {
	t.Helper()
	h := &bundleHost{}
	h.set(body)
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		defer h.mu.Unlock()
		switch {
		case h.down:
			w.WriteHeader(http.StatusServiceUnavailable)
		case r.Header.Get("If-None-Match") == h.etag:
			w.WriteHeader(http.StatusNotModified)
		default:
			h.downloads++
			w.Header().Set("ETag", h.etag)
			w.Header().Set("Content-Type", "application/gzip")
			_, _ = w.Write([]byte(h.body))
		}
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *bundleHost) set(body []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	sum := sha256.Sum256(body)
	h.body, h.etag = string(body), `"`+hex.EncodeToString(sum[:8])+`"`
}

func (h *bundleHost) setDown(down bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.down = down
}

// verdictCLI runs the binary with args in dir and returns its output; it must succeed unless
// wantFail.
func verdictCLI(t *testing.T, dir string, wantFail bool, args ...string) string {
	t.Helper()
	cmd := exec.Command(verdictBin(t), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if (err != nil) != wantFail {
		t.Fatalf("verdict %s: error %v, want failure %v\n%s", strings.Join(args, " "), err, wantFail, out)
	}
	return string(out)
}

// buildPolicies runs `verdict bundle build` over the repository's policies with revision rev.
func buildPolicies(t *testing.T, rev string, extra ...string) []byte {
	t.Helper()
	policies, err := filepath.Abs("../policies")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), rev+".tar.gz")
	verdictCLI(t, t.TempDir(), false, append([]string{"bundle", "build", policies, "-o", out, "--revision", rev}, extra...)...)
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// startBundled starts verdict in dir (its data directory is dir/data) with the test issuer and
// the given policy section.
func startBundled(t *testing.T, dir string, is *issuer, policyYAML string) *instance {
	t.Helper()
	cfg := fmt.Sprintf("tokens:\n  issuers:\n    - issuer: %s\n      audiences: [verdict]\n      jwks_file: %s\npolicy:\n%s",
		e2eIssuer, is.JWKSPath, policyYAML)
	path := filepath.Join(dir, "verdict.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return startVerdict(t, dir, "--config", path)
}

// answeredBy authorizes an editor read and returns the revision that answered.
func answeredBy(t *testing.T, inst *instance, is *issuer) string {
	t.Helper()
	tok := is.sign(t, is.claims("alice", map[string]any{"roles": []string{"editor"}, "tenant": "acme"}))
	resp := authorize(t, inst, tok, `{"action":"read","resource":`+doc("acme", "bob", "internal")+`}`)
	if resp.Status != http.StatusOK {
		t.Fatalf("authorize: status %d, body %s", resp.Status, resp.Body)
	}
	body := resp.json(t)
	if body["allow"] != true {
		t.Fatalf("authorize: %s", resp.Body)
	}
	rev, _ := body["revision"].(string)
	return rev
}

// status is the part of GET /v1/status these tests read.
type status struct {
	Revision string `json:"revision"`
	Policy   struct {
		Source       string `json:"source"`
		Kind         string `json:"kind"`
		Watching     bool   `json:"watching"`
		Failures     uint64 `json:"failures"`
		Revision     string `json:"revision"`
		Origin       string `json:"origin"`
		Verification bool   `json:"verification"`
		LastAttempt  *struct {
			Result string `json:"result"`
			Reason string `json:"reason"`
			Error  string `json:"error"`
		} `json:"last_attempt"`
		NextPoll *time.Time `json:"next_poll"`
	} `json:"policy"`
}

func getStatus(t *testing.T, inst *instance) status {
	t.Helper()
	resp := do(t, http.MethodGet, inst.URL+"/v1/status", nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("/v1/status: %d %s", resp.Status, resp.Body)
	}
	var st status
	if err := json.Unmarshal(resp.Body, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// waitStatus polls /v1/status until cond holds.
func waitStatus(t *testing.T, inst *instance, what string, cond func(status) bool) status {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		st := getStatus(t, inst)
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; status %+v", what, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBundleHotReloadOverHTTP: the binary polls a bundle server, picks up a new revision,
// reports it in /v1/status and in decisions, refuses a bad bundle while the old revision keeps
// answering, and after a restart with the server down serves the persisted revision.
func TestBundleHotReloadOverHTTP(t *testing.T) {
	host := newBundleHost(t, buildPolicies(t, "e2e-1"))
	dir := t.TempDir()
	is := newIssuer(t, dir, e2eIssuer)
	policy := fmt.Sprintf("  bundle: %s/bundles/verdict.tar.gz\n  poll_interval: 100ms\n", host.URL)
	inst := startBundled(t, dir, is, policy)

	if got := answeredBy(t, inst, is); got != "e2e-1" {
		t.Fatalf("first revision = %q, want e2e-1", got)
	}
	st := getStatus(t, inst)
	if st.Revision != "e2e-1" || st.Policy.Origin != "source" || !strings.HasSuffix(st.Policy.Source, "/bundles/verdict.tar.gz") || st.Policy.NextPoll == nil {
		t.Errorf("status = %+v", st)
	}

	r2 := buildPolicies(t, "e2e-2")
	changed := time.Now()
	host.set(r2)
	waitStatus(t, inst, "revision e2e-2", func(st status) bool { return st.Revision == "e2e-2" })
	t.Logf("new revision reported %s after it was published (poll interval 100ms)", time.Since(changed).Round(time.Millisecond))
	if got := answeredBy(t, inst, is); got != "e2e-2" {
		t.Fatalf("answer after the change = %q, want e2e-2", got)
	}

	host.set([]byte("<html>upstream error</html>"))
	st = waitStatus(t, inst, "the bad bundle refused", func(st status) bool {
		return st.Policy.LastAttempt != nil && st.Policy.LastAttempt.Result == "rejected"
	})
	if st.Policy.LastAttempt.Reason != "corrupt" || st.Revision != "e2e-2" {
		t.Errorf("status after the bad bundle = %+v, last attempt %+v", st, st.Policy.LastAttempt)
	}
	if got := answeredBy(t, inst, is); got != "e2e-2" {
		t.Fatalf("answer after the bad bundle = %q, want e2e-2", got)
	}
	if resp := do(t, http.MethodGet, inst.URL+"/ready", nil); resp.Status != http.StatusOK {
		t.Errorf("/ready = %d after a refused bundle", resp.Status)
	}
	metrics := string(do(t, http.MethodGet, inst.URL+"/metrics", nil).Body)
	for _, want := range []string{
		`verdict_bundle_activation_failures_total{reason="corrupt"} 1`,
		`verdict_bundle_revision_info{origin="source",revision="e2e-2"} 1`,
		`verdict_bundle_activations_total 2`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	log, err := os.ReadFile(filepath.Join(dir, "decisions.log"))
	if err != nil || !strings.Contains(string(log), `"revision":"e2e-2"`) || !strings.Contains(string(log), `"revision":"e2e-1"`) {
		t.Errorf("decision log does not carry both revisions (error %v)", err)
	}

	// Restart while the bundle server is down: the persisted e2e-2 serves, and says so.
	stopInstance(t, inst)
	host.setDown(true)
	inst = startBundled(t, dir, is, policy)
	if got := answeredBy(t, inst, is); got != "e2e-2" {
		t.Fatalf("answer after restart with the server down = %q, want e2e-2", got)
	}
	if st := getStatus(t, inst); st.Policy.Origin != "persisted" {
		t.Errorf("origin after restart = %q, want persisted", st.Policy.Origin)
	}
}

// TestBundleSignedFile: a signed bundle file verifies against policy.verification; an unsigned
// replacement is refused while the signed revision keeps answering; bundle inspect verifies.
func TestBundleSignedFile(t *testing.T) {
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	pub, _ := x509.MarshalPKIXPublicKey(key.Public())
	privPath, pubPath := filepath.Join(dir, "signing.pem"), filepath.Join(dir, "signing.pub.pem")
	if err := os.WriteFile(privPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600); err != nil {
		t.Fatal(err)
	}
	bundlePath := filepath.Join(dir, "verdict.tar.gz")
	if err := os.WriteFile(bundlePath, buildPolicies(t, "signed-1", "--signing-key", privPath), 0o600); err != nil {
		t.Fatal(err)
	}
	out := verdictCLI(t, dir, false, "bundle", "inspect", bundlePath, "--verification-key", pubPath)
	if !strings.Contains(out, "signature:   verified") || !strings.Contains(out, "verdict/authz/decision (defined)") {
		t.Errorf("inspect output:\n%s", out)
	}

	is := newIssuer(t, dir, e2eIssuer)
	inst := startBundled(t, dir, is, fmt.Sprintf("  bundle: %s\n  poll_interval: 100ms\n  verification: {public_key: %s}\n", bundlePath, pubPath))
	if got := answeredBy(t, inst, is); got != "signed-1" {
		t.Fatalf("first revision = %q, want signed-1", got)
	}
	if st := getStatus(t, inst); !st.Policy.Verification {
		t.Errorf("status does not show verification: %+v", st.Policy)
	}

	unsigned := filepath.Join(dir, "unsigned.tar.gz")
	if err := os.WriteFile(unsigned, buildPolicies(t, "unsigned-2"), 0o600); err != nil {
		t.Fatal(err)
	}
	verdictCLI(t, dir, true, "bundle", "inspect", unsigned, "--verification-key", pubPath)
	if err := os.Rename(unsigned, bundlePath); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, inst, "the unsigned bundle refused", func(st status) bool {
		return st.Policy.LastAttempt != nil && st.Policy.LastAttempt.Result == "rejected"
	})
	if st.Policy.LastAttempt.Reason != "unsigned" {
		t.Errorf("last attempt = %+v", st.Policy.LastAttempt)
	}
	if got := answeredBy(t, inst, is); got != "signed-1" {
		t.Fatalf("answer after the unsigned bundle = %q, want signed-1", got)
	}

	// Signing it with `verdict bundle sign` makes it acceptable.
	verdictCLI(t, dir, false, "bundle", "sign", bundlePath, "--signing-key", privPath)
	waitStatus(t, inst, "revision unsigned-2", func(st status) bool { return st.Revision == "unsigned-2" })
}

// stopInstance interrupts a running verdict and waits until it no longer answers.
func stopInstance(t *testing.T, inst *instance) {
	t.Helper()
	if err := inst.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(inst.URL + "/health")
		if err != nil {
			return
		}
		resp.Body.Close()
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("verdict did not stop")
}

package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// buildStandard builds the standard test bundle with data.verdict.search replaced by search,
// as revision rev.
func buildStandard(t *testing.T, rev string, search any) []byte {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(standardBundle(t))); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "data.json"))
	if err != nil {
		t.Fatal(err)
	}
	var data map[string]map[string]any
	if err := json.Unmarshal(raw, &data); err != nil {
		t.Fatal(err)
	}
	data["verdict"]["search"] = search
	if raw, err = json.Marshal(data); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data.json"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), rev+".tar.gz")
	verdictCLI(t, t.TempDir(), false, "bundle", "build", dir, "-o", out, "--revision", rev)
	archive, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return archive
}

// TestSearchDataShape: a directory that lists bare ids (the obvious shape) is served as
// shorthand for {"id": ...}; a directory of another shape is refused at activation, with the
// reason, while the old revision keeps answering searches. Before, both activated and every
// search then failed with 500.
func TestSearchDataShape(t *testing.T) {
	host := newBundleHost(t, buildStandard(t, "objects", map[string]any{
		"subjects": map[string]any{"user": []any{map[string]any{"id": "alice"}}}}))
	dir := t.TempDir()
	is := newIssuer(t, dir, e2eIssuer)
	inst := startBundled(t, dir, is, fmt.Sprintf("  bundle: %s/verdict.tar.gz\n  poll_interval: 100ms\n", host.URL))
	search := func() (int, string) {
		resp := postJSON(t, inst.URL+"/access/v1/search/subject",
			`{"subject":{"type":"user"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}`)
		return resp.Status, string(resp.Body)
	}

	host.set(buildStandard(t, "bare-ids", map[string]any{"subjects": map[string]any{"user": []any{"alice", "bob"}}}))
	waitStatus(t, inst, "revision bare-ids", func(st status) bool {
		return st.Revision == "bare-ids" || (st.Policy.LastAttempt != nil && st.Policy.LastAttempt.Result == "rejected")
	})
	if code, body := search(); code != http.StatusOK || !strings.Contains(body, `"id":"alice"`) || !strings.Contains(body, `"id":"bob"`) {
		t.Errorf("search over bare ids: status %d, body %s", code, body)
	}

	host.set(buildStandard(t, "numbers", map[string]any{"subjects": map[string]any{"user": []any{1, 2}}}))
	st := waitStatus(t, inst, "the bundle refused", func(st status) bool {
		return st.Policy.LastAttempt != nil && st.Policy.LastAttempt.Result == "rejected"
	})
	if st.Revision != "bare-ids" || st.Policy.LastAttempt.Reason != "activation" ||
		!strings.Contains(st.Policy.LastAttempt.Error, "malformed bundle data: data.verdict.search has the wrong shape") {
		t.Errorf("status after the malformed directory = revision %q, last attempt %+v", st.Revision, st.Policy.LastAttempt)
	}
	if code, body := search(); code != http.StatusOK || !strings.Contains(body, `"id":"bob"`) {
		t.Errorf("search after the refusal: status %d, body %s", code, body)
	}
}

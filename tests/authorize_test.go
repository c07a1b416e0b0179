package tests

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const e2eIssuer = "https://idp.e2e.test"

// startWithIssuer starts verdict on the built-in policy, trusting a fresh test issuer through
// a jwks_file, with extra YAML appended to the configuration.
func startWithIssuer(t *testing.T, extraYAML string, args ...string) (*instance, *issuer) {
	t.Helper()
	dir := t.TempDir()
	is := newIssuer(t, dir, e2eIssuer)
	cfg := fmt.Sprintf(`
tokens:
  issuers:
    - issuer: %s
      audiences: [verdict]
      jwks_file: %s
%s`, e2eIssuer, is.JWKSPath, extraYAML)
	path := filepath.Join(dir, "verdict.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return startVerdict(t, dir, append([]string{"--config", path}, args...)...), is
}

func doc(tenant, owner, classification string) string {
	return fmt.Sprintf(`{"type":"document","id":"doc-42","properties":{"tenant":%q,"owner":%q,"classification":%q}}`,
		tenant, owner, classification)
}

func TestDecisions(t *testing.T) {
	inst, is := startWithIssuer(t, "")
	editor := map[string]any{"roles": []string{"editor"}, "tenant": "acme"}
	viewer := map[string]any{"roles": []string{"viewer"}, "tenant": "acme"}
	admin := map[string]any{"roles": []string{"admin"}, "tenant": "acme"}
	noMFA := map[string]any{"amr": []string{"pwd"}}
	merge := func(ms ...map[string]any) map[string]any {
		out := map[string]any{}
		for _, m := range ms {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	tests := []struct {
		name       string
		sub        string
		claims     map[string]any
		body       string
		allow      bool
		reason     string // a substring one reason must contain
		obligation string // an obligation type that must be present
	}{
		{name: "editor reads same-tenant internal document", sub: "alice", claims: editor,
			body: `{"action":"read","resource":` + doc("acme", "bob", "internal") + `}`, allow: true, reason: "editor"},
		{name: "viewer update is denied", sub: "victor", claims: viewer,
			body: `{"action":{"name":"update"},"resource":` + doc("acme", "victor", "internal") + `}`, reason: "rbac"},
		{name: "cross-tenant read is denied", sub: "alice", claims: editor,
			body: `{"action":"read","resource":` + doc("globex", "gina", "internal") + `}`, reason: "tenant"},
		{name: "high risk is denied", sub: "alice", claims: editor,
			body:   `{"action":"read","resource":` + doc("acme", "bob", "internal") + `,"context":{"ip_reputation":"bad","new_device":true}}`,
			reason: "risk"},
		{name: "medium-risk delete without MFA asks for step-up", sub: "ada", claims: merge(admin, noMFA),
			body:   `{"action":"delete","resource":` + doc("acme", "bob", "internal") + `,"context":{"new_device":true}}`,
			reason: "risk", obligation: "step_up"},
		{name: "medium-risk delete with fresh MFA is allowed", sub: "ada", claims: admin,
			body:  `{"action":"delete","resource":` + doc("acme", "bob", "internal") + `,"context":{"new_device":true}}`,
			allow: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := authorize(t, inst, is.sign(t, is.claims(tt.sub, tt.claims)), tt.body)
			if resp.Status != http.StatusOK {
				t.Fatalf("status %d, body %s", resp.Status, resp.Body)
			}
			got := resp.json(t)
			if got["allow"] != tt.allow {
				t.Fatalf("allow = %v, want %v; body %s", got["allow"], tt.allow, resp.Body)
			}
			reasons, _ := got["reasons"].([]any)
			if len(reasons) == 0 {
				t.Fatalf("no reasons in %s", resp.Body)
			}
			if tt.reason != "" && !strings.Contains(fmt.Sprint(reasons), tt.reason) {
				t.Errorf("reasons %v do not mention %q", reasons, tt.reason)
			}
			obligations, _ := got["obligations"].([]any)
			if tt.obligation != "" && !strings.Contains(fmt.Sprint(obligations), "type:"+tt.obligation) {
				t.Errorf("obligations %v lack %q", obligations, tt.obligation)
			}
			if tt.obligation == "" && len(obligations) != 0 {
				t.Errorf("unexpected obligations %v", obligations)
			}
			for _, key := range []string{"decision_id", "revision"} {
				if s, _ := got[key].(string); s == "" {
					t.Errorf("%s missing from %s", key, resp.Body)
				}
			}
		})
	}
}

// TestTokenAndRequestErrors covers request problems around a valid token. The token rejections
// themselves (issue 4's list) live in tokens_test.go, TestTokenRejections.
func TestTokenAndRequestErrors(t *testing.T) {
	inst, is := startWithIssuer(t, "server: {max_body_bytes: 2048}")
	readBody := `{"action":"read","resource":` + doc("acme", "bob", "internal") + `}`
	editor := map[string]any{"roles": []string{"editor"}, "tenant": "acme"}
	valid := is.sign(t, is.claims("alice", editor))

	tests := []struct {
		name      string
		headers   []string
		body      string
		status    int
		challenge string // substring of WWW-Authenticate
		message   string // substring of error.message
	}{
		{name: "valid control token", headers: bearer(valid), body: readBody, status: 200},
		{name: "no token", body: readBody, status: 401, challenge: `Bearer realm="verdict"`},
		{name: "body over the limit", headers: bearer(valid),
			body: `{"action":"read","context":{"pad":"` + strings.Repeat("x", 4096) + `"}}`, status: 413},
		{name: "malformed JSON", headers: bearer(valid), body: `{"action":`, status: 400},
		{name: "missing resource", headers: bearer(valid), body: `{"action":"read"}`, status: 400},
		{name: "missing resource id", headers: bearer(valid), body: `{"action":"read","resource":{"type":"document","properties":{"tenant":"acme"}}}`,
			status: 400, message: "resource.id is required"},
		{name: "not JSON", headers: append(bearer(valid), "Content-Type", "text/plain"), body: readBody, status: 415},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			headers := tt.headers
			if !hasHeader(headers, "Content-Type") {
				headers = append(headers, "Content-Type", "application/json")
			}
			resp := do(t, http.MethodPost, inst.URL+"/v1/authorize", strings.NewReader(tt.body), headers...)
			if resp.Status != tt.status {
				t.Fatalf("status %d, want %d; body %s", resp.Status, tt.status, resp.Body)
			}
			if got := resp.Header.Get("WWW-Authenticate"); !strings.Contains(got, tt.challenge) {
				t.Errorf("WWW-Authenticate %q lacks %q", got, tt.challenge)
			}
			if tt.status != 200 {
				body := resp.json(t)
				e, ok := body["error"].(map[string]any)
				if !ok {
					t.Errorf("error body %s has no error object", resp.Body)
				}
				if msg, _ := e["message"].(string); !strings.Contains(msg, tt.message) {
					t.Errorf("error message %q lacks %q", msg, tt.message)
				}
			}
			if strings.Contains(string(resp.Body), valid) {
				t.Fatal("the response echoes the token")
			}
		})
	}
	if strings.Contains(inst.output.String(), valid) {
		t.Error("the server log contains a token")
	}
}

func TestRequestIDIsEchoedOrGenerated(t *testing.T) {
	inst, _ := startWithIssuer(t, "")
	resp := do(t, http.MethodGet, inst.URL+"/health", nil, "X-Request-ID", "req-123")
	if got := resp.Header.Get("X-Request-ID"); got != "req-123" {
		t.Errorf("echoed X-Request-ID = %q", got)
	}
	resp = do(t, http.MethodGet, inst.URL+"/health", nil)
	if got := resp.Header.Get("X-Request-ID"); len(got) < 16 {
		t.Errorf("generated X-Request-ID = %q", got)
	}
}

// TestForeignBundle serves someone else's bundle at a configured entrypoint.
func TestForeignBundle(t *testing.T) {
	bundleDir, err := filepath.Abs("testdata/otherbundle")
	if err != nil {
		t.Fatal(err)
	}
	inst, is := startWithIssuer(t, "policy: {entrypoint: acme/gate/decision}", "--bundle", bundleDir)
	for _, tc := range []struct {
		tenant string
		allow  bool
	}{{"globex", true}, {"acme", false}} {
		tok := is.sign(t, is.claims("gina", map[string]any{"tenant": tc.tenant}))
		resp := authorize(t, inst, tok, `{"action":"read","resource":{"type":"report","id":"r1"}}`)
		if resp.Status != 200 {
			t.Fatalf("status %d: %s", resp.Status, resp.Body)
		}
		got := resp.json(t)
		if got["allow"] != tc.allow || got["revision"] != "other-7" {
			t.Errorf("tenant %s: got %s, want allow %v at revision other-7", tc.tenant, resp.Body, tc.allow)
		}
	}
}

// TestDevModeQuickstart follows the README: serve --dev prints a token and a curl command
// that is allowed.
func TestDevModeQuickstart(t *testing.T) {
	inst := startVerdict(t, "", "--dev")
	out := inst.output.String()
	m := regexp.MustCompile(`export TOKEN=(\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no token printed:\n%s", out)
	}
	body := regexp.MustCompile(`-d '([^']+)'`).FindStringSubmatch(out)
	if body == nil {
		t.Fatalf("no curl body printed:\n%s", out)
	}
	resp := authorize(t, inst, m[1], body[1])
	got := resp.json(t)
	if resp.Status != 200 || got["allow"] != true {
		t.Fatalf("quickstart request: status %d body %s", resp.Status, resp.Body)
	}
}

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

func hasHeader(headers []string, name string) bool {
	for i := 0; i < len(headers); i += 2 {
		if strings.EqualFold(headers[i], name) {
			return true
		}
	}
	return false
}

// flip changes every character of s so a signature no longer verifies but stays base64url.
func flip(s string) string {
	out := []byte(s)
	for i, c := range out {
		if c == 'A' {
			out[i] = 'B'
		} else {
			out[i] = 'A'
		}
	}
	return string(out)
}

package tests

import (
	"net/http"
	"strings"
	"testing"
)

// TestAmbiguousBodies sends the built binary, on each API family, a body another parser could
// read differently (a repeated member, a case variant, invalid UTF-8) and expects a 400 that
// names the problem.
func TestAmbiguousBodies(t *testing.T) {
	inst, is := startStandard(t, adminYAML(""))
	tok := is.sign(t, is.claims("alice", editorClaims))
	tests := []struct {
		name    string
		path    string
		body    string
		headers []string
		want    string // the start of the error message
	}{
		{name: "native: action twice", path: "/v1/authorize", headers: bearer(tok),
			body: `{"action":"read","resource":{"type":"record","id":"r"},"action":"delete"}`, want: `duplicate member "action"`},
		{name: "authzen: subject twice", path: "/access/v1/evaluation",
			body: `{"subject":{"type":"user","id":"bob"},"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"r"}}`,
			want: `duplicate member "subject"`},
		{name: "authzen: case variant of subject", path: "/access/v1/evaluation",
			body: `{"Subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"r"}}`,
			want: `member "Subject" must be written "subject"`},
		{name: "data API: duplicate inside input", path: "/v1/data/verdict/authz/allow",
			body: `{"input":{"subject":{"type":"user","id":"bob","id":"alice"}}}`, want: `duplicate member "id"`},
		{name: "admin: case variant of jti", path: "/v1/admin/revocations", headers: []string{"X-API-Key", e2eAdminKey},
			body: `{"iss":"` + e2eIssuer + `","JTI":"j1"}`, want: `member "JTI" must be written "jti"`},
		{name: "admin: invalid UTF-8", path: "/v1/admin/revocations", headers: []string{"X-API-Key", e2eAdminKey},
			body: `{"iss":"` + e2eIssuer + `","jti":"j` + "\xff" + `"}`, want: "invalid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := postJSON(t, inst.URL+tt.path, tt.body, tt.headers...)
			if resp.Status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400; body %s", resp.Status, resp.Body)
			}
			body := resp.json(t)
			msg, _ := body["message"].(string) // the Data API's OPA-shaped error
			if e, ok := body["error"].(map[string]any); ok {
				if e["code"] != "invalid_request" {
					t.Errorf("code %v, want invalid_request", e["code"])
				}
				msg, _ = e["message"].(string)
			}
			if !strings.HasPrefix(msg, tt.want) {
				t.Fatalf("message %q, want %q", msg, tt.want)
			}
		})
	}
}

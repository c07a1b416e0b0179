package httpapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/verdict-pdp/verdict/pdp/config"
)

// explainAdminKey is the admin API key of the explain tests.
const explainAdminKey = "explain-admin-key"

const explainAuthZENBody = `{"subject":{"type":"user","id":"alice","properties":{"roles":["editor"],"tenant":"acme"}},` +
	`"action":{"name":"read"},"resource":{"type":"document","id":"d1","properties":{"tenant":"acme","owner":"bob"}}}`

func TestExplain(t *testing.T) {
	// One server each: with an admin key, in --dev, with the admin API disabled.
	admin := newFixtureWith(t, true, func(cfg *config.Config, _ *Deps) { cfg.Admin.APIKeysSHA256 = []string{digestOf(explainAdminKey)} })
	dev := newFixtureWith(t, true, func(_ *config.Config, d *Deps) { d.Dev = true })
	noAdmin := newFixture(t, true)
	tests := []struct {
		name    string
		server  *fixture
		path    string
		headers []string
		status  int
		code    string
		// trace is a text the explanation must contain; "" wants an answer with no explanation member.
		trace string
	}{
		{name: "native, admin key, full", server: admin, path: "/v1/authorize?explain=full",
			headers: []string{adminKeyHeader, explainAdminKey}, status: 200, trace: "Enter data.verdict.authz.decision"},
		{name: "native, admin key, fails", server: admin, path: "/v1/authorize?explain=fails",
			headers: []string{adminKeyHeader, explainAdminKey}, status: 200, trace: "Fail "},
		{name: "native, dev, full", server: dev, path: "/v1/authorize?explain=full", status: 200,
			trace: "Exit data.verdict.authz.decision"},
		{name: "native, no key", server: admin, path: "/v1/authorize?explain=full", status: 403, code: CodeAccessDenied},
		{name: "native, wrong key", server: admin, path: "/v1/authorize?explain=full",
			headers: []string{adminKeyHeader, "wrong"}, status: 403, code: CodeAccessDenied},
		{name: "native, admin key in X-API-Key is not taken", server: admin, path: "/v1/authorize?explain=full",
			headers: []string{"X-API-Key", explainAdminKey}, status: 403, code: CodeAccessDenied},
		{name: "native, admin API disabled", server: noAdmin, path: "/v1/authorize?explain=full",
			headers: []string{adminKeyHeader, explainAdminKey}, status: 403, code: CodeAccessDenied},
		{name: "native, empty explain is refused too", server: admin, path: "/v1/authorize?explain=",
			headers: []string{adminKeyHeader, explainAdminKey}, status: 400, code: CodeInvalidRequest},
		{name: "native, unknown mode", server: dev, path: "/v1/authorize?explain=debug", status: 400, code: CodeInvalidRequest},
		{name: "native, other parameters are no explain", server: admin, path: "/v1/authorize?verbose=1", status: 200},
		{name: "native, not asked", server: dev, path: "/v1/authorize", status: 200},
		{name: "authzen, admin key, full", server: admin, path: pathEvaluation + "?explain=full",
			headers: []string{adminKeyHeader, explainAdminKey}, status: 200, trace: "Enter data.verdict.authz.decision"},
		{name: "authzen, dev, full", server: dev, path: pathEvaluation + "?explain=full", status: 200,
			trace: "Enter data.verdict.rbac"},
		{name: "authzen, no key", server: admin, path: pathEvaluation + "?explain=notes", status: 403, code: CodeAccessDenied},
		{name: "authzen, wrong key", server: admin, path: pathEvaluation + "?explain=notes",
			headers: []string{adminKeyHeader, "wrong"}, status: 403, code: CodeAccessDenied},
		{name: "authzen, not asked", server: admin, path: pathEvaluation, status: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.server
			body := readInternal
			headers := append([]string{"Authorization", "Bearer " + f.token(t, nil)}, tt.headers...)
			if strings.HasPrefix(tt.path, pathEvaluation) {
				body, headers = explainAuthZENBody, tt.headers
			}
			rec := send(t, f.srv, http.MethodPost, tt.path, body, headers...)
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			got := jsonBody(t, rec)
			if tt.code != "" {
				if e, _ := got["error"].(map[string]any); e["code"] != tt.code {
					t.Errorf("error = %v, want code %s", got["error"], tt.code)
				}
			}
			if tt.status != 200 {
				return
			}
			if allow, ok := got["allow"]; ok && allow != true {
				t.Errorf("allow = %v, want true", allow)
			}
			if decision, ok := got["decision"]; ok && decision != true {
				t.Errorf("decision = %v, want true", decision)
			}
			lines, present := got["explanation"].([]any)
			if tt.trace == "" {
				if _, ok := got["explanation"]; ok {
					t.Errorf("explanation present when not asked: %v", got["explanation"])
				}
				return
			}
			if !present || !strings.Contains(joinLines(lines), tt.trace) {
				t.Errorf("explanation does not contain %q: %v", tt.trace, got["explanation"])
			}
		})
	}
}

// TestExplainNotesWithoutNotes: notes of a policy that writes none are an empty list, not an
// absent member, so a caller can tell "asked, nothing noted" from "not asked".
func TestExplainNotesWithoutNotes(t *testing.T) {
	f := newFixtureWith(t, true, func(_ *config.Config, d *Deps) { d.Dev = true })
	rec := send(t, f.srv, http.MethodPost, "/v1/authorize?explain=notes", readInternal, "Authorization", "Bearer "+f.token(t, nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"explanation":[]`) {
		t.Errorf("status %d, body %s; want 200 with an empty explanation", rec.Code, rec.Body)
	}
}

func joinLines(lines []any) string {
	var b strings.Builder
	for _, l := range lines {
		s, _ := l.(string)
		b.WriteString(s + "\n")
	}
	return b.String()
}

package httpapi

import (
	"net/http"
	"testing"

	"github.com/verdict-pdp/verdict/pdp/config"
)

const (
	alice   = `{"type":"user","id":"alice"}`
	bob     = `{"type":"user","id":"bob"}`
	read    = `{"name":"read"}`
	write   = `{"name":"write"}`
	record1 = `{"type":"record","id":"record-1"}`
	record2 = `{"type":"record","id":"record-2"}`
)

func tuple(subject, action, resource string) string {
	return `{"subject":` + subject + `,"action":` + action + `,"resource":` + resource + `}`
}

func TestAuthZENEvaluation(t *testing.T) {
	s := newTestServer(t, nil)
	tests := []struct {
		name   string
		body   string
		header []string
		status int
		want   string // the exact body for 200s
		code   string // the error code otherwise
	}{
		{name: "permit", body: tuple(alice, read, record1), status: 200, want: `{"decision":true}`},
		{name: "deny", body: tuple(bob, write, record1), status: 200, want: `{"decision":false}`},
		{name: "optional context", body: `{"subject":` + alice + `,"action":` + read + `,"resource":` + record1 +
			`,"context":{"time":"2025-06-27T18:03-07:00","ip":"192.168.1.1"}}`, status: 200, want: `{"decision":true}`},
		{name: "deny on resource properties", status: 200, want: `{"decision":false}`,
			body: tuple(alice, write, `{"type":"record","id":"record-9","properties":{"status":"archived"}}`)},
		{name: "permit on subject properties", status: 200, want: `{"decision":true}`,
			body: tuple(`{"type":"user","id":"bob","properties":{"role":"admin"}}`, write,
				`{"type":"record","id":"record-2","properties":{"status":"archived"}}`)},
		{name: "permit on action properties", status: 200, want: `{"decision":true}`,
			body: tuple(alice, `{"name":"delete","properties":{"soft":true}}`, record1)},
		{name: "deny on action properties", status: 200, want: `{"decision":false}`,
			body: tuple(alice, `{"name":"delete","properties":{"soft":false}}`, record1)},
		{name: "directory fills in properties", status: 200, want: `{"decision":false}`,
			body: tuple(alice, write, record2)},
		{name: "unknown members are ignored", status: 200, want: `{"decision":true}`,
			body: `{"subject":{"type":"user","id":"alice","x":1},"action":{"name":"read","y":[]},` +
				`"resource":{"type":"record","id":"record-1"},"foo":"bar","futureField":{"nested":true}}`},
		{name: "a deny with an obligation carries it", status: 200,
			body: tuple(alice, `{"name":"approve"}`, record1),
			want: `{"decision":false,"context":{"obligations":[{"acr_values":["urn:verdict:mfa"],"max_age":300,"type":"step_up"}]}}`},
		{name: "missing subject", body: `{"action":` + read + `,"resource":` + record1 + `}`, status: 400, code: CodeInvalidRequest},
		{name: "missing action", body: `{"subject":` + alice + `,"resource":` + record1 + `}`, status: 400, code: CodeInvalidRequest},
		{name: "missing resource", body: `{"subject":` + alice + `,"action":` + read + `}`, status: 400, code: CodeInvalidRequest},
		{name: "subject without type", body: tuple(`{"id":"alice"}`, read, record1), status: 400, code: CodeInvalidRequest},
		{name: "subject without id", body: tuple(`{"type":"user"}`, read, record1), status: 400, code: CodeInvalidRequest},
		{name: "action without name", body: tuple(alice, `{}`, record1), status: 400, code: CodeInvalidRequest},
		{name: "resource without type", body: tuple(alice, read, `{"id":"record-1"}`), status: 400, code: CodeInvalidRequest},
		{name: "resource without id", body: tuple(alice, read, `{"type":"record"}`), status: 400, code: CodeInvalidRequest},
		{name: "subject is a string", body: tuple(`"alice"`, read, record1), status: 400, code: CodeInvalidRequest},
		{name: "action name is a number", body: tuple(alice, `{"name":123}`, record1), status: 400, code: CodeInvalidRequest},
		{name: "properties is an array", body: tuple(`{"type":"user","id":"alice","properties":[]}`, read, record1),
			status: 400, code: CodeInvalidRequest},
		{name: "context is a string", body: `{"subject":` + alice + `,"action":` + read + `,"resource":` + record1 + `,"context":"x"}`,
			status: 400, code: CodeInvalidRequest},
		{name: "malformed JSON", body: `{"subject":`, status: 400, code: CodeInvalidRequest},
		{name: "empty body", body: "", header: []string{"Content-Type", "application/json"}, status: 400, code: CodeInvalidRequest},
		{name: "body is an array", body: `[]`, status: 400, code: CodeInvalidRequest},
		{name: "not JSON", body: tuple(alice, read, record1), header: []string{"Content-Type", "text/plain"}, status: 415,
			code: CodeUnsupportedMedia},
		{name: "evaluation error", body: tuple(alice, `{"name":"explode"}`, record1), status: 500, code: CodeEvaluationFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := send(t, s, http.MethodPost, pathEvaluation, tt.body, tt.header...)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if tt.status == 200 {
				if got := compact(t, rec.Body.String()); got != compact(t, tt.want) {
					t.Errorf("body %s, want %s", got, tt.want)
				}
				return
			}
			errObj, _ := jsonBody(t, rec)["error"].(map[string]any)
			if errObj["code"] != tt.code {
				t.Errorf("error %v, want code %s", errObj, tt.code)
			}
		})
	}
}

func TestAuthZENRequestIDIsEchoedExactly(t *testing.T) {
	s := newTestServer(t, nil)
	for _, id := range []string{"bfe9eb29-ab87-4ca3-be83-a1d5d8305716", "req:1/2"} {
		rec := send(t, s, http.MethodPost, pathEvaluation, tuple(alice, read, record1), "X-Request-ID", id)
		if got := rec.Header().Get("X-Request-ID"); got != id {
			t.Errorf("X-Request-ID %q, want %q", got, id)
		}
	}
}

func TestAuthZENResponseContextFull(t *testing.T) {
	s := newTestServer(t, func(c *config.Config) { c.AuthZEN.ResponseContext = "full" })
	rec := send(t, s, http.MethodPost, pathEvaluation, tuple(bob, write, record1))
	got := jsonBody(t, rec)
	ctx, _ := got["context"].(map[string]any)
	if got["decision"] != false || ctx == nil {
		t.Fatalf("body %s", rec.Body)
	}
	if id, _ := ctx["decision_id"].(string); len(id) != 32 {
		t.Errorf("decision_id %v", ctx["decision_id"])
	}
	if reasons, _ := ctx["reasons"].([]any); len(reasons) != 1 || reasons[0] != "standard: denied" {
		t.Errorf("reasons %v", ctx["reasons"])
	}
	if risk, _ := ctx["risk"].(map[string]any); risk["level"] != "low" {
		t.Errorf("risk %v", ctx["risk"])
	}
}

func TestAuthZENMetadata(t *testing.T) {
	tests := []struct {
		name    string
		baseURL string
		host    string
		want    string
	}{
		{name: "configured base URL", baseURL: "https://pdp.example.com/", host: "ignored:1", want: "https://pdp.example.com"},
		{name: "request host", host: "verdict.internal:8181", want: "http://verdict.internal:8181"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, func(c *config.Config) { c.AuthZEN.BaseURL = tt.baseURL })
			rec := send(t, s, http.MethodGet, "http://"+tt.host+pathAuthZENConfig, "")
			if rec.Code != 200 {
				t.Fatalf("status %d", rec.Code)
			}
			want := compact(t, `{"policy_decision_point":"`+tt.want+`",`+
				`"access_evaluation_endpoint":"`+tt.want+`/access/v1/evaluation",`+
				`"access_evaluations_endpoint":"`+tt.want+`/access/v1/evaluations",`+
				`"search_subject_endpoint":"`+tt.want+`/access/v1/search/subject",`+
				`"search_resource_endpoint":"`+tt.want+`/access/v1/search/resource",`+
				`"search_action_endpoint":"`+tt.want+`/access/v1/search/action"}`)
			if got := compact(t, rec.Body.String()); got != want {
				t.Errorf("metadata %s\nwant %s", got, want)
			}
		})
	}
}

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

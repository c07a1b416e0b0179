package httpapi

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestDataAPI(t *testing.T) {
	s := newTestServer(t, nil)
	input := `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"r"}}`
	tests := []struct {
		name    string
		method  string
		path    string
		body    string
		headers []string
		status  int
		result  string // the compacted result; "-" for none
		code    string // the OPA error code otherwise
	}{
		{name: "data document", method: "POST", path: "/v1/data/fixture/greeting", body: `{}`, status: 200, result: `"hello"`},
		{name: "rule with input", method: "POST", path: "/v1/data/verdict/authz/allow", body: `{"input":` + input + `}`,
			status: 200, result: `true`},
		{name: "decision object", method: "POST", path: "/v1/data/verdict/authz/decision/reasons", body: `{"input":` + input + `}`,
			status: 200, result: `["standard: allowed"]`},
		{name: "no body", method: "POST", path: "/v1/data/verdict/authz/allow", status: 200, result: `false`},
		{name: "GET without input", method: "GET", path: "/v1/data/fixture", status: 200, result: `{"greeting":"hello"}`},
		{name: "GET with input", method: "GET", path: "/v1/data/verdict/authz/allow?input=" + url.QueryEscape(input),
			status: 200, result: `true`},
		{name: "undefined document", method: "POST", path: "/v1/data/fixture/nothing", body: `{"input":{}}`, status: 200, result: "-"},
		{name: "malformed JSON", method: "POST", path: "/v1/data/fixture", body: `{"input":`, status: 400, code: opaCodeInvalidParameter},
		{name: "malformed GET input", method: "GET", path: "/v1/data/fixture?input=%7B", status: 400, code: opaCodeInvalidParameter},
		{name: "not JSON", method: "POST", path: "/v1/data/fixture", body: `{}`, headers: []string{"Content-Type", "text/plain"},
			status: 415, code: opaCodeInvalidParameter},
		{name: "path into a boolean", method: "POST", path: "/v1/data/verdict/authz/allow/foo", body: `{}`, status: 400,
			code: opaCodeInvalidParameter},
		{name: "evaluation error", method: "POST", path: "/v1/data/verdict/authz/decision",
			body: `{"input":{"action":{"name":"explode"}}}`, status: 500, code: opaCodeInternal},
		{name: "method not allowed", method: "PUT", path: "/v1/data/fixture", body: `{}`, status: 405, code: opaCodeInvalidOperation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := send(t, s, tt.method, tt.path, tt.body, tt.headers...)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			got := jsonBody(t, rec)
			if tt.status != 200 {
				if got["code"] != tt.code || got["message"] == "" {
					t.Errorf("error body %s, want code %s", rec.Body, tt.code)
				}
				return
			}
			if id, _ := got["decision_id"].(string); len(id) != 32 {
				t.Errorf("decision_id %v", got["decision_id"])
			}
			result, defined := got["result"]
			if tt.result == "-" {
				if defined {
					t.Errorf("result %v for an undefined document", result)
				}
				return
			}
			if mustJSON(result) != tt.result {
				t.Errorf("result %s, want %s", mustJSON(result), tt.result)
			}
		})
	}
}

func TestDataAPIPretty(t *testing.T) {
	s := newTestServer(t, nil)
	rec := send(t, s, http.MethodGet, "/v1/data/fixture?pretty=true", "")
	if !strings.Contains(rec.Body.String(), "{\n  \"result\": {\n    \"greeting\": \"hello\"\n  },") {
		t.Errorf("pretty body %q", rec.Body)
	}
}

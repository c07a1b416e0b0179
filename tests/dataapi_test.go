package tests

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestDataAPI asks Verdict what an OPA client would ask OPA: POST and GET /v1/data/{path},
// with answers and errors in OPA's shapes.
func TestDataAPI(t *testing.T) {
	inst, _ := startStandard(t, "")
	input := `{"subject":{"type":"user","id":"alice"},"action":{"name":"write"},"resource":{"type":"record","id":"r","properties":{"status":"active"}}}`
	tests := []struct {
		name    string
		method  string
		path    string
		body    string
		headers []string
		status  int
		result  string // compacted result; "-" when it must be absent
		code    string // OPA error code otherwise
	}{
		{name: "decision rule with input", method: "POST", path: "/v1/data/verdict/authz/allow", body: `{"input":` + input + `}`,
			status: 200, result: `true`},
		{name: "decision object", method: "POST", path: "/v1/data/verdict/authz/decision", body: `{"input":` + input + `}`,
			status: 200, result: `{"allow":true,"obligations":[],"reasons":["standard: allowed"],"risk":{"level":"low","score":10,"signals":[]}}`},
		{name: "base document", method: "POST", path: "/v1/data/fixture", body: `{}`, status: 200, result: `{"greeting":"hello"}`},
		{name: "GET with input", method: "GET", path: "/v1/data/verdict/authz/allow?input=" + url.QueryEscape(input),
			status: 200, result: `true`},
		{name: "GET without input", method: "GET", path: "/v1/data/fixture/greeting", status: 200, result: `"hello"`},
		{name: "undefined document", method: "POST", path: "/v1/data/fixture/missing", body: `{"input":{}}`, status: 200, result: "-"},
		{name: "malformed body", method: "POST", path: "/v1/data/fixture", body: `{"input":`, status: 400, code: "invalid_parameter"},
		{name: "evaluation error", method: "POST", path: "/v1/data/verdict/authz/decision", body: `{"input":{"action":{"name":"explode"}}}`,
			status: 500, code: "internal_error"},
		{name: "wrong method", method: "DELETE", path: "/v1/data/fixture", status: 405, code: "invalid_operation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
				tt.headers = append(tt.headers, "Content-Type", "application/json")
			}
			resp := do(t, tt.method, inst.URL+tt.path, body, tt.headers...)
			if resp.Status != tt.status {
				t.Fatalf("status %d, want %d; body %s", resp.Status, tt.status, resp.Body)
			}
			got := resp.json(t)
			if tt.status != 200 {
				if got["code"] != tt.code || got["message"] == nil {
					t.Errorf("error %s, want OPA code %s", resp.Body, tt.code)
				}
				return
			}
			if id, _ := got["decision_id"].(string); id == "" {
				t.Errorf("no decision_id in %s", resp.Body)
			}
			result, ok := got["result"]
			if tt.result == "-" {
				if ok {
					t.Errorf("result %v for an undefined document", result)
				}
				return
			}
			b, _ := json.Marshal(result)
			if string(b) != tt.result {
				t.Errorf("result %s, want %s", b, tt.result)
			}
		})
	}
}

func TestDataAPIPretty(t *testing.T) {
	inst, _ := startStandard(t, "")
	resp := do(t, http.MethodGet, inst.URL+"/v1/data/fixture?pretty=true", nil)
	if !strings.HasPrefix(string(resp.Body), "{\n  \"result\": {\n    \"greeting\": \"hello\"\n  },\n  \"decision_id\": ") {
		t.Errorf("pretty answer %q", resp.Body)
	}
}

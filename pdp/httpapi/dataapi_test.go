package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/verdict-pdp/verdict/pdp/config"
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

// TestDataAPIResponseLimit checks server.max_data_response_bytes: a document whose answer
// encodes to more is refused with 413 response_too_large; one at the limit comes back whole.
func TestDataAPIResponseLimit(t *testing.T) {
	// The compact answer for fixture is {"result":{"greeting":"hello"},"decision_id":"<32 hex>"}
	// and a newline.
	fixtureBytes := int64(len(`{"result":{"greeting":"hello"},"decision_id":""}`) + 32 + 1)
	tests := []struct {
		name   string
		limit  int64
		path   string
		status int
	}{
		{name: "document under the limit", limit: 1 << 20, path: "/v1/data/fixture", status: 200},
		{name: "document exactly at the limit", limit: fixtureBytes, path: "/v1/data/fixture", status: 200},
		{name: "document one byte over", limit: fixtureBytes - 1, path: "/v1/data/fixture", status: 413},
		{name: "a large document over the limit", limit: 256, path: "/v1/data/verdict", status: 413},
		{name: "pretty is bounded on the compact form", limit: fixtureBytes, path: "/v1/data/fixture?pretty=true", status: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, func(c *config.Config) { c.Server.MaxDataResponseBytes = tt.limit })
			rec := send(t, s, http.MethodGet, tt.path, "")
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			got := jsonBody(t, rec)
			if tt.status != 200 {
				msg, _ := got["message"].(string)
				if got["code"] != CodeResponseTooLarge || !strings.Contains(msg, "server.max_data_response_bytes") {
					t.Errorf("error body %s, want code %s naming the key", rec.Body, CodeResponseTooLarge)
				}
				return
			}
			if mustJSON(got["result"]) != `{"greeting":"hello"}` {
				t.Errorf("result %s, want the whole document", mustJSON(got["result"]))
			}
		})
	}
}

// TestDataBodyEncoding checks that the bounded encoder writes what encoding/json writes, so
// the Data API's answers are byte for byte what they were.
func TestDataBodyEncoding(t *testing.T) {
	tests := []struct {
		name    string
		result  any
		defined bool
		pretty  bool
		want    string // when encoding/json's answer is not the one
	}{
		{name: "undefined", defined: false},
		// OPA answers a defined null as a result; omitempty would drop it.
		{name: "null", result: nil, defined: true, want: `{"result":null,"decision_id":"0123abcd"}` + "\n"},
		{name: "scalars", defined: true, result: []any{true, false, json.Number("12.50"), "a\"b\\c\n<&>\u2028", ""}},
		{name: "nested, keys sorted", defined: true, result: map[string]any{
			"z": map[string]any{"b": []any{}, "a": map[string]any{}}, "a": []any{map[string]any{"y": 1.5, "x": nil}}, "é": "ü",
		}},
		{name: "pretty", defined: true, pretty: true, result: map[string]any{"b": []any{json.Number("1"), "x"}, "a": map[string]any{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := struct {
				Result     any    `json:"result,omitempty"`
				DecisionID string `json:"decision_id"`
			}{DecisionID: "0123abcd"}
			if tt.defined {
				want.Result = tt.result
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			if tt.pretty {
				enc.SetIndent("", "  ")
			}
			if err := enc.Encode(want); err != nil {
				t.Fatal(err)
			}
			if tt.want != "" {
				buf.Reset()
				buf.WriteString(tt.want)
			}
			got, err := dataBody(tt.result, tt.defined, "0123abcd", 1<<20, tt.pretty)
			if err != nil || string(got) != buf.String() {
				t.Errorf("dataBody() = %q, %v; want %q", got, err, buf.String())
			}
		})
	}
}

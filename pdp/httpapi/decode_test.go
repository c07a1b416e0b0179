package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/verdict-pdp/verdict/pdp/request"
	"github.com/verdict-pdp/verdict/pdp/strictjson"
)

// TestAmbiguousBodiesAreRefused sends, to every API that reads a body, bodies that another
// parser could read differently from encoding/json: repeated members (kept last by
// encoding/json, first by others), case variants of a member (matched by encoding/json, not by
// others), invalid UTF-8 (replaced by encoding/json, kept by others). Each is a 400 naming the
// problem; the first row of each API is the same body without the attack, answered.
func TestAmbiguousBodiesAreRefused(t *testing.T) {
	const (
		alice   = `{"type":"user","id":"alice"}`
		recordA = `{"type":"record","id":"record-1"}`
		iss     = `"iss":"` + revokeIss + `"`
	)
	native := func(members string) string { return `{"action":"read","resource":` + recordA + members + `}` }
	authzen := func(members string) string {
		return `{"subject":` + alice + `,"action":{"name":"read"},"resource":` + recordA + members + `}`
	}
	tests := []struct {
		name   string
		api    string // native, batch, authzen, evaluations, data, data-get, admin, revoke
		body   string
		status int
		want   string // what the error message says; "" when the body is answered
	}{
		{name: "native: plain body", api: "native", body: native(""), status: 200},
		{name: "native: duplicate top-level member", api: "native", body: native(`,"action":"delete"`),
			status: 400, want: `duplicate member "action"`},
		{name: "native: duplicate nested member", api: "native",
			body:   `{"action":"read","resource":{"type":"record","id":"record-1","id":"record-2"}}`,
			status: 400, want: `duplicate member "id"`},
		{name: "native: duplicate inside properties", api: "native",
			body:   `{"action":"read","resource":{"type":"record","id":"r","properties":{"status":"archived","status":"live"}}}`,
			status: 400, want: `duplicate member "status"`},
		{name: "native: duplicate inside context", api: "native", body: native(`,"context":{"ip":"10.0.0.1","ip":"203.0.113.7"}`),
			status: 400, want: `duplicate member "ip"`},
		{name: "native: case variant of a member", api: "native", body: native(`,"ACTION":"delete"`),
			status: 400, want: `member "ACTION" must be written "action"`},
		{name: "native: case variant of a nested member", api: "native", body: `{"action":{"Name":"read"},"resource":` + recordA + `}`,
			status: 400, want: `member "Name" must be written "name"`},
		{name: "native: invalid UTF-8 in a string", api: "native", body: `{"action":"re` + "\xff" + `ad","resource":` + recordA + `}`,
			status: 400, want: "invalid UTF-8 at byte 13"},
		{name: "native: invalid UTF-8 in a member name", api: "native", body: native(`,"context":{"i` + "\xc3" + `p":1}`),
			status: 400, want: "invalid UTF-8"},

		{name: "batch: plain body", api: "batch", body: `{"evaluations":[` + native("") + `]}`, status: 200},
		{name: "batch: duplicate top-level member", api: "batch",
			body:   `{"evaluations":[` + native("") + `],"evaluations":[` + native("") + `]}`,
			status: 400, want: `duplicate member "evaluations"`},
		{name: "batch: duplicate member in an item", api: "batch", body: `{"evaluations":[` + native(`,"action":"delete"`) + `]}`,
			status: 400, want: `duplicate member "action"`},
		{name: "batch: duplicate inside an item's context", api: "batch",
			body:   `{"evaluations":[` + native(`,"context":{"a":{"b":1,"b":2}}`) + `]}`,
			status: 400, want: `duplicate member "b"`},
		{name: "batch: case variant of an option", api: "batch",
			body:   `{"evaluations":[` + native("") + `],"options":{"Evaluations_Semantic":"permit_on_first_permit"}}`,
			status: 400, want: `member "Evaluations_Semantic" must be written "evaluations_semantic"`},
		{name: "batch: case variant in an item", api: "batch", body: `{"evaluations":[` + native(`,"Resource":{"type":"x"}`) + `]}`,
			status: 400, want: `member "Resource" must be written "resource"`},
		{name: "batch: invalid UTF-8 in an item", api: "batch", body: `{"evaluations":[` + native(`,"context":{"x":"`+"\xed\xa0\x80"+`"}`) + `]}`,
			status: 400, want: "invalid UTF-8"},

		{name: "authzen: plain body", api: "authzen", body: authzen(""), status: 200},
		{name: "authzen: duplicate top-level member", api: "authzen", body: authzen(`,"subject":{"type":"user","id":"bob"}`),
			status: 400, want: `duplicate member "subject"`},
		{name: "authzen: duplicate nested member", api: "authzen",
			body:   `{"subject":{"type":"user","id":"bob","id":"alice"},"action":{"name":"read"},"resource":` + recordA + `}`,
			status: 400, want: `duplicate member "id"`},
		{name: "authzen: duplicate inside properties", api: "authzen",
			body:   `{"subject":{"type":"user","id":"alice","properties":{"roles":[],"roles":["admin"]}},"action":{"name":"read"},"resource":` + recordA + `}`,
			status: 400, want: `duplicate member "roles"`},
		{name: "authzen: duplicate inside context", api: "authzen", body: authzen(`,"context":{"time":"a","time":"b"}`),
			status: 400, want: `duplicate member "time"`},
		{name: "authzen: case variant of a member", api: "authzen", body: authzen(`,"Subject":{"type":"user","id":"bob"}`),
			status: 400, want: `member "Subject" must be written "subject"`},
		{name: "authzen: case variant of a nested member", api: "authzen",
			body:   `{"subject":{"type":"user","ID":"alice"},"action":{"name":"read"},"resource":` + recordA + `}`,
			status: 400, want: `member "ID" must be written "id"`},
		{name: "authzen: invalid UTF-8 in a string", api: "authzen",
			body:   `{"subject":{"type":"user","id":"ali` + "\xff" + `ce"},"action":{"name":"read"},"resource":` + recordA + `}`,
			status: 400, want: "invalid UTF-8 at byte 35"},
		{name: "authzen: invalid UTF-8 in a member name", api: "authzen", body: authzen(`,"context":{"` + "\xff" + `":1}`),
			status: 400, want: "invalid UTF-8"},
		{name: "authzen: unpaired surrogate escape", api: "authzen", body: authzen(`,"context":{"x":"\udc00"}`),
			status: 400, want: "invalid UTF-8: unpaired surrogate escape"},
		{name: "evaluations: duplicate in an item", api: "evaluations",
			body:   authzen(`,"evaluations":[{"resource":{"type":"record","id":"a","id":"b"}}]`),
			status: 400, want: `duplicate member "id"`},
		{name: "evaluations: case variant in an item", api: "evaluations",
			body:   authzen(`,"evaluations":[{"Resource":{"type":"record","id":"a"}}]`),
			status: 400, want: `member "Resource" must be written "resource"`},

		{name: "data: plain body", api: "data", body: `{"input":{"subject":` + alice + `}}`, status: 200},
		{name: "data: duplicate top-level member", api: "data", body: `{"input":{},"input":{"subject":` + alice + `}}`,
			status: 400, want: `duplicate member "input"`},
		{name: "data: duplicate inside input", api: "data", body: `{"input":{"subject":{"type":"user","id":"bob","id":"alice"}}}`,
			status: 400, want: `duplicate member "id"`},
		{name: "data: case variant of a member", api: "data", body: `{"INPUT":{"subject":` + alice + `}}`,
			status: 400, want: `member "INPUT" must be written "input"`},
		{name: "data: case variants inside input are the caller's own", api: "data",
			body: `{"input":{"Subject":{"type":"user"},"subject":` + alice + `}}`, status: 200},
		{name: "data: invalid UTF-8 in a string", api: "data", body: `{"input":{"x":"` + "\xff" + `"}}`,
			status: 400, want: "invalid UTF-8 at byte 15"},
		{name: "data: invalid UTF-8 in a member name", api: "data", body: `{"input":{"` + "\xff" + `":1}}`,
			status: 400, want: "invalid UTF-8 at byte 11"},
		{name: "data: GET input with a duplicate", api: "data-get", body: `{"subject":{"id":"bob","id":"alice"}}`,
			status: 400, want: `input: duplicate member "id"`},

		{name: "admin: plain body", api: "admin", body: `{` + iss + `,"jti":"j1"}`, status: 200},
		{name: "admin: duplicate member", api: "admin", body: `{` + iss + `,"jti":"j1","jti":"j2"}`,
			status: 400, want: `duplicate member "jti"`},
		{name: "admin: case variant of a member", api: "admin", body: `{` + iss + `,"JTI":"j1"}`,
			status: 400, want: `member "JTI" must be written "jti"`},
		{name: "admin: invalid UTF-8 in a string", api: "admin", body: `{` + iss + `,"jti":"j` + "\xff" + `"}`,
			status: 400, want: "invalid UTF-8"},
		// The admin body refuses unknown members, which a name with invalid UTF-8 always is.
		{name: "admin: invalid UTF-8 in a member name", api: "admin", body: `{` + iss + `,"jti":"j1","` + "\xff" + `":1}`,
			status: 400, want: "unknown field"},

		{name: "revoke: plain form", api: "revoke", body: form("token", "good-token", "token_type_hint", "access_token"), status: 200},
		{name: "revoke: token_type_hint twice", api: "revoke",
			body:   form("token", "good-token", "token_type_hint", "access_token", "token_type_hint", "refresh_token"),
			status: 400, want: "token_type_hint is given more than once"},
	}
	s := newTestServer(t, nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := sendTo(t, s, tc.api, tc.body)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.want == "" {
				return
			}
			if msg := errorMessage(t, rec.Body.Bytes()); !strings.HasPrefix(msg, tc.want) {
				t.Fatalf("message %q, want %q", msg, tc.want)
			}
		})
	}
}

// sendTo sends body to the endpoint of api, with the credentials it needs.
func sendTo(t *testing.T, s *Server, api, body string) *httptest.ResponseRecorder {
	t.Helper()
	bearer := []string{"Authorization", "Bearer alice-token"}
	switch api {
	case "native":
		return send(t, s, http.MethodPost, "/v1/authorize", body, bearer...)
	case "batch":
		return send(t, s, http.MethodPost, "/v1/authorize/batch", body, bearer...)
	case "authzen":
		return send(t, s, http.MethodPost, pathEvaluation, body)
	case "evaluations":
		return send(t, s, http.MethodPost, pathEvaluations, body)
	case "data":
		return send(t, s, http.MethodPost, "/v1/data/verdict/authz/allow", body)
	case "data-get":
		return send(t, s, http.MethodGet, "/v1/data/verdict/authz/allow?input="+url.QueryEscape(body), "")
	case "admin":
		return send(t, newRevokeServer(t, []string{digestOf(adminKey)}, &recordingRevoker{}),
			http.MethodPost, pathAdminRevocations, body, "X-API-Key", adminKey)
	case "revoke":
		return send(t, newRevokeServer(t, []string{digestOf(adminKey)}, &recordingRevoker{}),
			http.MethodPost, pathRevoke, body, "X-API-Key", adminKey, "Content-Type", formContentType)
	}
	t.Fatalf("unknown api %q", api)
	return nil
}

// errorMessage returns the message of an error answer, native or OPA-shaped.
func errorMessage(t *testing.T, body []byte) string {
	t.Helper()
	var e struct {
		Error   struct{ Message string } `json:"error"`
		Message string                   `json:"message"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	return e.Error.Message + e.Message
}

// TestShapesNameEveryMember keeps the strictjson shapes in step with the types the bodies
// decode into: a member a type reads but its shape lacks would escape the case rule.
func TestShapesNameEveryMember(t *testing.T) {
	tests := []struct {
		name  string
		typ   any
		shape strictjson.Shape
	}{
		{name: "native batch", typ: batchRequest{}, shape: request.NativeBatchShape},
		{name: "batch options", typ: batchOptions{}, shape: request.NativeBatchShape["options"]},
		{name: "data", typ: dataRequest{}, shape: dataShape},
		{name: "admin revocation", typ: revocationRequest{}, shape: revocationShape},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if missing := tc.shape.Lacks(tc.typ); len(missing) > 0 {
				t.Errorf("the shape lacks %q", missing)
			}
		})
	}
}

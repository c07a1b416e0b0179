package httpapi

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/verdict-pdp/verdict/pdp/config"
)

func TestAuthZENEvaluations(t *testing.T) {
	s := newTestServer(t, func(c *config.Config) { c.Server.MaxBatch = 5 })
	// Four items for the semantics: read (permit), write (deny), read (permit), write (deny),
	// all on bob and record-1.
	mixed := `"subject":` + bob + `,"resource":` + record1 +
		`,"evaluations":[{"action":{"name":"read"}},{"action":{"name":"write"}},{"action":{"name":"read"}},{"action":{"name":"write"}}]`
	tests := []struct {
		name   string
		body   string
		status int
		want   string
	}{
		{name: "defaults from the top level", status: 200,
			body: `{"subject":` + alice + `,"action":` + read + `,"evaluations":[{"resource":` + record1 + `},{"resource":` +
				`{"type":"record","id":"record-4"}}]}`,
			want: `{"evaluations":[{"decision":true},{"decision":false}]}`},
		{name: "items in request order", status: 200,
			body: `{"subject":` + bob + `,"resource":` + record1 + `,"evaluations":[{"action":` + read + `},{"action":` + write + `}]}`,
			want: `{"evaluations":[{"decision":true},{"decision":false}]}`},
		{name: "fully specified items", status: 200,
			body: `{"evaluations":[` + tuple(alice, read, record1) + `,` + tuple(bob, write, record1) + `]}`,
			want: `{"evaluations":[{"decision":true},{"decision":false}]}`},
		{name: "an item's entity replaces the default entity as a whole", status: 200,
			body: `{"subject":{"type":"user","id":"bob","properties":{"role":"admin"}},"action":` + write + `,"resource":` +
				record1 + `,"evaluations":[{},{"subject":{"type":"user","id":"dave"}}]}`,
			want: `{"evaluations":[{"decision":true},{"decision":false}]}`},
		{name: "an item's entity takes a missing type or id from the default", status: 200,
			body: `{"subject":` + alice + `,"action":` + write + `,"resource":{"type":"record"},"evaluations":[` +
				`{"resource":{"id":"record-8","properties":{"status":"active"}}},` +
				`{"resource":{"type":"record","id":"record-9","properties":{"status":"archived"}}}]}`,
			want: `{"evaluations":[{"decision":true},{"decision":false}]}`},
		{name: "an item's context replaces the default context", status: 200,
			body: `{"subject":` + alice + `,"action":` + read + `,"context":{"time":"2025-06-27T18:03-07:00"},"evaluations":[` +
				`{"resource":` + record1 + `},{"resource":` + record2 + `,"context":{"source":"batch-override"}}]}`,
			want: `{"evaluations":[{"decision":true},{"decision":true}]}`},
		{name: "execute_all", status: 200, body: `{` + mixed + `,"options":{"evaluations_semantic":"execute_all"}}`,
			want: `{"evaluations":[{"decision":true},{"decision":false},{"decision":true},{"decision":false}]}`},
		{name: "deny_on_first_deny truncates after the first deny", status: 200,
			body: `{` + mixed + `,"options":{"evaluations_semantic":"deny_on_first_deny"}}`,
			want: `{"evaluations":[{"decision":true},{"decision":false}]}`},
		{name: "permit_on_first_permit truncates after the first permit", status: 200,
			body: `{` + mixed + `,"options":{"evaluations_semantic":"permit_on_first_permit","another_option":1}}`,
			want: `{"evaluations":[{"decision":true}]}`},
		{name: "deny_on_first_deny without a deny answers all", status: 200,
			body: `{"subject":` + alice + `,"action":` + read + `,"options":{"evaluations_semantic":"deny_on_first_deny"},` +
				`"evaluations":[{"resource":` + record1 + `},{"resource":` + record2 + `}]}`,
			want: `{"evaluations":[{"decision":true},{"decision":true}]}`},
		{name: "an invalid item is a deny with its error", status: 200,
			body: `{"subject":` + alice + `,"action":` + read + `,"evaluations":[{"resource":` + record1 + `},{},5,` +
				`{"resource":{"type":"record","id":"record-1"},"action":{"name":42}}]}`,
			want: `{"evaluations":[{"decision":true},` +
				`{"decision":false,"context":{"error":{"status":400,"code":"invalid_request","message":"resource is required"}}},` +
				`{"decision":false,"context":{"error":{"status":400,"code":"invalid_request","message":"each evaluation must be a JSON object"}}},` +
				`{"decision":false,"context":{"error":{"status":400,"code":"invalid_request","message":"action.name must be a string"}}}]}`},
		{name: "a failed evaluation is a deny with its error", status: 200,
			body: `{"subject":` + alice + `,"resource":` + record1 + `,"evaluations":[{"action":{"name":"explode"}},{"action":` + read + `}]}`,
			want: `{"evaluations":[{"decision":false,"context":{"error":{"status":500,"code":"evaluation_failed",` +
				`"message":"the policy could not be evaluated"}}},{"decision":true}]}`},
		{name: "an invalid item is a deny for deny_on_first_deny", status: 200,
			body: `{"subject":` + alice + `,"action":` + read + `,"options":{"evaluations_semantic":"deny_on_first_deny"},` +
				`"evaluations":[{"resource":{"type":"record"}},{"resource":` + record1 + `}]}`,
			want: `{"evaluations":[{"decision":false,"context":{"error":{"status":400,"code":"invalid_request","message":"resource.id is required"}}}]}`},
		{name: "without evaluations it is a single evaluation", status: 200, body: tuple(alice, read, record1),
			want: `{"decision":true}`},
		{name: "empty evaluations is a single evaluation", status: 200,
			body: `{"subject":` + alice + `,"action":` + read + `,"resource":` + record1 + `,"evaluations":[]}`,
			want: `{"decision":true}`},
		{name: "empty evaluations without a complete tuple", status: 400, body: `{"evaluations":[]}`},
		{name: "a malformed default is a payload error", status: 400,
			body: `{"subject":"alice","evaluations":[` + tuple(alice, read, record1) + `]}`},
		{name: "evaluations is not an array", status: 400, body: `{"evaluations":{}}`},
		{name: "unknown semantic", status: 400,
			body: `{"options":{"evaluations_semantic":"first_applicable"},"evaluations":[` + tuple(alice, read, record1) + `]}`},
		{name: "options is not an object", status: 400,
			body: `{"options":"deny_on_first_deny","evaluations":[` + tuple(alice, read, record1) + `]}`},
		{name: "over the batch limit", status: 400,
			body: `{"subject":` + alice + `,"action":` + read + `,"evaluations":[` + strings.Repeat(`{"resource":`+record1+`},`, 5) +
				`{"resource":` + record1 + `}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := send(t, s, http.MethodPost, pathEvaluations, tt.body)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			if tt.want != "" {
				if got := compact(t, rec.Body.String()); got != compact(t, tt.want) {
					t.Errorf("body %s\nwant %s", got, compact(t, tt.want))
				}
			}
		})
	}
}

// TestAuthZENEvaluationsConcurrency runs a full batch with several workers: answers stay in
// request order.
func TestAuthZENEvaluationsConcurrency(t *testing.T) {
	s := newTestServer(t, func(c *config.Config) { c.Server.BatchConcurrency = 4 })
	var items, want []string
	for i := range 40 {
		id := fmt.Sprintf("record-%d", i%8)
		items = append(items, `{"resource":{"type":"record","id":"`+id+`"}}`)
		// Reading is allowed on every record but the hidden record-4.
		want = append(want, fmt.Sprintf(`{"decision":%v}`, id != "record-4"))
	}
	body := `{"subject":` + alice + `,"action":` + read + `,"evaluations":[` + strings.Join(items, ",") + `]}`
	rec := send(t, s, http.MethodPost, pathEvaluations, body)
	if got, exp := compact(t, rec.Body.String()), compact(t, `{"evaluations":[`+strings.Join(want, ",")+`]}`); got != exp {
		t.Errorf("body %s\nwant %s", got, exp)
	}
}

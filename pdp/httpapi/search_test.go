package httpapi

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/verdict-pdp/verdict/pdp/config"
)

func TestAuthZENSearch(t *testing.T) {
	s := newTestServer(t, nil)
	tests := []struct {
		name   string
		path   string
		body   string
		status int
		want   string // results, compacted
	}{
		{name: "subjects that may read a record", path: pathSearchSubject, status: 200,
			body: `{"subject":{"type":"user"},"action":` + read + `,"resource":` + record1 + `}`,
			want: `[{"type":"user","id":"alice"},{"type":"user","id":"bob"},{"type":"user","id":"carol"},{"type":"user","id":"dave"},` +
				`{"type":"user","id":"erin"},{"type":"user","id":"frank"},{"type":"user","id":"grace"}]`},
		{name: "subjects that may write an archived record", path: pathSearchSubject, status: 200,
			body: `{"subject":{"type":"user","id":"ignored"},"action":` + write + `,"resource":{"type":"record","id":"record-2","properties":{"status":"archived"}},"context":{"a":1}}`,
			want: `[{"type":"user","id":"carol"}]`},
		{name: "resources alice may read", path: pathSearchResource, status: 200,
			body: `{"subject":` + alice + `,"action":` + read + `,"resource":{"type":"record"}}`,
			want: `[{"type":"record","id":"record-1"},{"type":"record","id":"record-2"},{"type":"record","id":"record-3"},` +
				`{"type":"record","id":"record-5"},{"type":"record","id":"record-6"},{"type":"record","id":"record-7"}]`},
		{name: "resources an admin may write", path: pathSearchResource, status: 200,
			body: `{"subject":{"type":"user","id":"bob","properties":{"role":"admin"}},"action":` + write + `,"resource":{"type":"record"}}`,
			want: `[{"type":"record","id":"record-1"},{"type":"record","id":"record-2"},{"type":"record","id":"record-3"},` +
				`{"type":"record","id":"record-4"},{"type":"record","id":"record-5"},{"type":"record","id":"record-6"},{"type":"record","id":"record-7"}]`},
		{name: "actions alice may do on a record", path: pathSearchAction, status: 200,
			body: `{"subject":` + alice + `,"resource":` + record1 + `,"context":{"time":"2024-10-26T01:22-07:00"}}`,
			want: `[{"name":"read"},{"name":"write"}]`},
		{name: "unknown subject type", path: pathSearchSubject, status: 200,
			body: `{"subject":{"type":"spaceship"},"action":` + read + `,"resource":` + record1 + `}`, want: `[]`},
		{name: "unknown resource type", path: pathSearchResource, status: 200,
			body: `{"subject":` + alice + `,"action":` + read + `,"resource":{"type":"spaceship"}}`, want: `[]`},
		{name: "unknown subject id", path: pathSearchAction, status: 200,
			body: `{"subject":{"type":"user","id":"nonexistent-user"},"resource":` + record1 + `}`, want: `[]`},
		{name: "unknown resource id", path: pathSearchSubject, status: 200,
			body: `{"subject":{"type":"user"},"action":` + read + `,"resource":{"type":"record","id":"record-99"}}`, want: `[]`},
		{name: "subject search without action", path: pathSearchSubject, status: 400,
			body: `{"subject":{"type":"user"},"resource":` + record1 + `}`},
		{name: "subject search without resource id", path: pathSearchSubject, status: 400,
			body: `{"subject":{"type":"user"},"action":` + read + `,"resource":{"type":"record"}}`},
		{name: "resource search without subject", path: pathSearchResource, status: 400,
			body: `{"action":` + read + `,"resource":{"type":"record"}}`},
		{name: "resource search without subject id", path: pathSearchResource, status: 400,
			body: `{"subject":{"type":"user"},"action":` + read + `,"resource":{"type":"record"}}`},
		{name: "action search without resource", path: pathSearchAction, status: 400, body: `{"subject":` + alice + `}`},
		{name: "negative limit", path: pathSearchResource, status: 400,
			body: `{"subject":` + alice + `,"action":` + read + `,"resource":{"type":"record"},"page":{"limit":-1}}`},
		{name: "fractional limit", path: pathSearchResource, status: 400,
			body: `{"subject":` + alice + `,"action":` + read + `,"resource":{"type":"record"},"page":{"limit":1.5}}`},
		{name: "forged token", path: pathSearchResource, status: 400,
			body: `{"subject":` + alice + `,"action":` + read + `,"resource":{"type":"record"},"page":{"token":"not-a-token"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := send(t, s, http.MethodPost, tt.path, tt.body)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			if tt.status != 200 {
				return
			}
			var got struct {
				Results json.RawMessage `json:"results"`
				Page    struct {
					NextToken *string `json:"next_token"`
					Count     int     `json:"count"`
				} `json:"page"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if string(got.Results) != compactRaw(t, tt.want) {
				t.Errorf("results %s\nwant    %s", got.Results, compactRaw(t, tt.want))
			}
			if got.Page.NextToken == nil || *got.Page.NextToken != "" {
				t.Errorf("page.next_token %v, want empty", got.Page.NextToken)
			}
		})
	}
}

// compactRaw compacts JSON keeping key order, as results are compared with their order.
func compactRaw(t *testing.T, s string) string {
	t.Helper()
	var v []json.RawMessage
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func TestAuthZENSearchPagination(t *testing.T) {
	s := newTestServer(t, func(c *config.Config) { c.Server.MaxBatch = 4; c.Server.BatchConcurrency = 3 })
	search := func(page string) (ids []string, next string, status int) {
		body := `{"subject":` + alice + `,"action":` + read + `,"resource":{"type":"record"}` + page + `}`
		rec := send(t, s, http.MethodPost, pathSearchResource, body)
		var got struct {
			Results []entityRef `json:"results"`
			Page    searchPage  `json:"page"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &got)
		for _, r := range got.Results {
			ids = append(ids, r.ID)
		}
		if got.Page.Count != len(got.Results) {
			t.Errorf("page.count %d for %d results", got.Page.Count, len(got.Results))
		}
		return ids, got.Page.NextToken, rec.Code
	}
	var all []string
	next := ""
	for pages := 0; ; pages++ {
		page := `,"page":{"limit":2}`
		if next != "" {
			page = `,"page":{"limit":2,"token":"` + next + `"}`
		}
		ids, tok, status := search(page)
		if status != 200 || len(ids) > 2 || pages > 5 {
			t.Fatalf("page %d: status %d, %d results", pages, status, len(ids))
		}
		all = append(all, ids...)
		if next = tok; next == "" {
			break
		}
	}
	want := []string{"record-1", "record-2", "record-3", "record-5", "record-6", "record-7"}
	if compact(t, mustJSON(all)) != compact(t, mustJSON(want)) {
		t.Errorf("paged results %v, want %v", all, want)
	}

	// The limit is capped by server.max_batch; a token does not fit another search.
	ids, next, _ := search(`,"page":{"limit":1000}`)
	if len(ids) != 4 || next == "" {
		t.Fatalf("capped page: %v, next %q", ids, next)
	}
	rec := send(t, s, http.MethodPost, pathSearchResource,
		`{"subject":`+bob+`,"action":`+read+`,"resource":{"type":"record"},"page":{"token":"`+next+`"}}`)
	if rec.Code != 400 {
		t.Errorf("token of another search: status %d", rec.Code)
	}
	// Drafts sent the token back as page.next_token.
	if ids, _, _ := search(`,"page":{"next_token":"` + next + `"}`); len(ids) != 2 || ids[0] != "record-6" {
		t.Errorf("page after a next_token: %v", ids)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

package httpapi

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/request"
)

func TestAuthZENSearchPagination(t *testing.T) {
	s := newTestServer(t, func(c *config.Config) { c.Server.MaxBatch = 4; c.Server.BatchConcurrency = 3 })
	search := func(page string) (ids []string, next string, status int) {
		body := `{"subject":` + alice + `,"action":` + read + `,"resource":{"type":"record"}` + page + `}`
		rec := send(t, s, http.MethodPost, pathSearchResource, body)
		var got struct {
			Results []request.EntityRef `json:"results"`
			Page    request.SearchPage  `json:"page"`
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

// TestSearchNextTokenOnlyWhenResultsFollow pins that a page carries a next_token only when
// another result follows it: alice may write record-1, -3, -4, -5 and -6 but not record-7, the
// last candidate, so a page that ends full at record-6 is the last.
func TestSearchNextTokenOnlyWhenResultsFollow(t *testing.T) {
	s := newTestServer(t, func(c *config.Config) { c.Server.BatchConcurrency = 2 })
	tests := []struct {
		name  string
		limit int
		pages [][]string
	}{
		{name: "full last page", limit: 5, pages: [][]string{{"record-1", "record-3", "record-4", "record-5", "record-6"}}},
		{name: "one page too few", limit: 4, pages: [][]string{{"record-1", "record-3", "record-4", "record-5"}, {"record-6"}}},
		{name: "room to spare", limit: 6, pages: [][]string{{"record-1", "record-3", "record-4", "record-5", "record-6"}}},
		{name: "full pages then a full last page", limit: 1,
			pages: [][]string{{"record-1"}, {"record-3"}, {"record-4"}, {"record-5"}, {"record-6"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got [][]string
			token := ""
			for len(got) <= len(tt.pages) {
				body := `{"subject":` + alice + `,"action":` + write + `,"resource":{"type":"record"},` +
					`"page":{"limit":` + mustJSON(tt.limit) + `,"token":` + mustJSON(token) + `}}`
				rec := send(t, s, http.MethodPost, pathSearchResource, body)
				var page struct {
					Results []request.EntityRef `json:"results"`
					Page    request.SearchPage  `json:"page"`
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil || rec.Code != http.StatusOK {
					t.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
				var ids []string
				for _, r := range page.Results {
					ids = append(ids, r.ID)
				}
				got = append(got, ids)
				if token = page.Page.NextToken; token == "" {
					break
				}
			}
			if mustJSON(got) != mustJSON(tt.pages) {
				t.Errorf("pages %v, want %v", got, tt.pages)
			}
		})
	}
}

package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/verdict-pdp/verdict/pdp/config"
)

// authzenCases is the golden AuthZEN cases file, shared with the end-to-end tests.
const authzenCases = "../../tests/testdata/authzen_cases.json"

// azCase is one golden case (see the file's comment).
type azCase struct {
	Name        string          `json:"name"`
	Path        string          `json:"path"`
	Body        json.RawMessage `json:"body"`
	RawBody     *string         `json:"raw_body"`
	ContentType string          `json:"content_type"`
	Status      int             `json:"status"`
	Want        json.RawMessage `json:"want"`
	Code        string          `json:"code"`
}

// goldenCases reads the golden cases.
func goldenCases(tb testing.TB) []azCase {
	tb.Helper()
	data, err := os.ReadFile(authzenCases)
	if err != nil {
		tb.Fatal(err)
	}
	var file struct{ Cases []azCase }
	if err := json.Unmarshal(data, &file); err != nil {
		tb.Fatal(err)
	}
	return file.Cases
}

// TestAuthZENCases runs the golden cases in-process.
func TestAuthZENCases(t *testing.T) {
	s := newTestServer(t, func(c *config.Config) { c.Server.MaxBatch = 5 })
	for _, tc := range goldenCases(t) {
		t.Run(tc.Name, func(t *testing.T) {
			body := string(tc.Body)
			if tc.RawBody != nil {
				body = *tc.RawBody
			}
			req := httptest.NewRequest(http.MethodPost, tc.Path, bytes.NewBufferString(body))
			req.Header.Set("Content-Type", "application/json")
			if tc.ContentType != "" {
				req.Header.Set("Content-Type", tc.ContentType)
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != tc.Status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.Status, rec.Body)
			}
			if tc.Status != http.StatusOK {
				if e, _ := jsonBody(t, rec)["error"].(map[string]any); e["code"] != tc.Code {
					t.Errorf("error %v, want code %s", e, tc.Code)
				}
				return
			}
			if got, want := normalizeToken(t, rec.Body.Bytes()), compact(t, string(tc.Want)); got != want {
				t.Errorf("body %s\nwant %s", got, want)
			}
		})
	}
}

// normalizeToken compacts a body, writing a non-empty page.next_token as "*".
func normalizeToken(t *testing.T, body []byte) string {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	if page, ok := v["page"].(map[string]any); ok && page["next_token"] != "" {
		page["next_token"] = "*"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

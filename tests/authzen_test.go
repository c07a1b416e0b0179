package tests

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// standardBundle is the test bundle of the standard APIs: the AuthZEN certification fixture on
// records, route rules for forward auth and an entity directory.
func standardBundle(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("testdata/standard")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// startStandard starts verdict on the standard bundle with the test issuer and extra YAML.
func startStandard(t *testing.T, extraYAML string) (*instance, *issuer) {
	t.Helper()
	return startWithIssuer(t, extraYAML, "--bundle", standardBundle(t))
}

// postJSON posts a JSON body; headers are name, value pairs.
func postJSON(t *testing.T, url, body string, headers ...string) response {
	t.Helper()
	if !hasHeader(headers, "Content-Type") {
		headers = append(headers, "Content-Type", "application/json")
	}
	return do(t, http.MethodPost, url, strings.NewReader(body), headers...)
}

// azCase is one golden case of testdata/authzen_cases.json (see its comment).
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

// TestAuthZENCases runs the golden AuthZEN cases against the binary: evaluation status codes,
// defaults merging, every semantic and its truncation, item errors, empty evaluations, search
// results and unknown types.
func TestAuthZENCases(t *testing.T) {
	data, err := os.ReadFile("testdata/authzen_cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct{ Cases []azCase }
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	inst, _ := startStandard(t, "server: {max_batch: 5}")
	for _, tc := range file.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			body := string(tc.Body)
			if tc.RawBody != nil {
				body = *tc.RawBody
			}
			ct := "application/json"
			if tc.ContentType != "" {
				ct = tc.ContentType
			}
			resp := postJSON(t, inst.URL+tc.Path, body, "Content-Type", ct)
			if resp.Status != tc.Status {
				t.Fatalf("status %d, want %d; body %s", resp.Status, tc.Status, resp.Body)
			}
			if got := resp.Header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type %q", got)
			}
			if tc.Status != http.StatusOK {
				if e, _ := resp.json(t)["error"].(map[string]any); e["code"] != tc.Code {
					t.Errorf("error %s, want code %s", resp.Body, tc.Code)
				}
				return
			}
			if got, want := canonical(t, resp.Body, true), canonical(t, tc.Want, false); got != want {
				t.Errorf("body %s\nwant %s", got, want)
			}
		})
	}
}

// canonical re-encodes a JSON object; with token set, a non-empty page.next_token becomes "*".
func canonical(t *testing.T, b []byte, token bool) string {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if page, ok := v["page"].(map[string]any); ok && token && page["next_token"] != "" {
		page["next_token"] = "*"
	}
	out, _ := json.Marshal(v)
	return string(out)
}

func TestAuthZENRequestIDIsEchoedExactly(t *testing.T) {
	inst, _ := startStandard(t, "")
	body := `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}`
	for _, path := range []string{"/access/v1/evaluation", "/access/v1/evaluations"} {
		id := "bfe9eb29-ab87-4ca3-be83-a1d5d8305716"
		resp := postJSON(t, inst.URL+path, body, "X-Request-ID", id)
		if resp.Status != 200 || resp.Header.Get("X-Request-ID") != id {
			t.Errorf("%s: status %d, X-Request-ID %q", path, resp.Status, resp.Header.Get("X-Request-ID"))
		}
		if resp := postJSON(t, inst.URL+path, body); resp.Header.Get("X-Request-ID") == "" {
			t.Errorf("%s: no X-Request-ID generated", path)
		}
	}
}

func TestAuthZENSearchPagination(t *testing.T) {
	inst, _ := startStandard(t, "")
	var ids []string
	token := ""
	for page := 0; page < 10; page++ {
		body := `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record"},` +
			`"page":{"limit":2,"token":"` + token + `"}}`
		resp := postJSON(t, inst.URL+"/access/v1/search/resource", body)
		var got struct {
			Results []struct{ Type, ID string }
			Page    struct {
				NextToken *string `json:"next_token"`
				Count     int
			}
		}
		if err := json.Unmarshal(resp.Body, &got); err != nil || resp.Status != 200 || got.Page.NextToken == nil {
			t.Fatalf("page %d: status %d body %s", page, resp.Status, resp.Body)
		}
		if len(got.Results) > 2 || got.Page.Count != len(got.Results) {
			t.Fatalf("page %d: %s", page, resp.Body)
		}
		for _, r := range got.Results {
			ids = append(ids, r.ID)
		}
		if token = *got.Page.NextToken; token == "" {
			break
		}
	}
	want := "record-1 record-2 record-3 record-5 record-6 record-7"
	if strings.Join(ids, " ") != want || token != "" {
		t.Errorf("paged results %v (last token %q), want %s", ids, token, want)
	}
}

func TestAuthZENMetadata(t *testing.T) {
	inst, _ := startStandard(t, "authzen: {base_url: 'https://pdp.example.com'}")
	resp := do(t, http.MethodGet, inst.URL+"/.well-known/authzen-configuration", nil)
	want := `{"access_evaluation_endpoint":"https://pdp.example.com/access/v1/evaluation",` +
		`"access_evaluations_endpoint":"https://pdp.example.com/access/v1/evaluations",` +
		`"policy_decision_point":"https://pdp.example.com",` +
		`"search_action_endpoint":"https://pdp.example.com/access/v1/search/action",` +
		`"search_resource_endpoint":"https://pdp.example.com/access/v1/search/resource",` +
		`"search_subject_endpoint":"https://pdp.example.com/access/v1/search/subject"}`
	if resp.Status != 200 || canonical(t, resp.Body, false) != want {
		t.Errorf("status %d, metadata %s", resp.Status, resp.Body)
	}
}

func TestAuthZENResponseContextFull(t *testing.T) {
	inst, _ := startStandard(t, "authzen: {response_context: full}")
	resp := postJSON(t, inst.URL+"/access/v1/evaluation",
		`{"subject":{"type":"user","id":"bob"},"action":{"name":"write"},"resource":{"type":"record","id":"record-1"}}`)
	ctx, _ := resp.json(t)["context"].(map[string]any)
	id, _ := ctx["decision_id"].(string)
	if resp.Status != 200 || len(id) != 32 || ctx["reasons"] == nil || ctx["risk"] == nil {
		t.Fatalf("status %d body %s", resp.Status, resp.Body)
	}
	// The decision id joins the answer to the decision log, written asynchronously.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		logged, _ := os.ReadFile(filepath.Join(inst.Dir, "decisions.log"))
		if bytes.Contains(logged, []byte(`"decision_id":"`+id+`"`)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("decision %s not in the decision log:\n%s", id, logged)
		}
	}
}

func TestAuthZENPEPAuthentication(t *testing.T) {
	sum := sha256.Sum256([]byte("pep-secret"))
	evaluation := `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}`
	t.Run("api_key", func(t *testing.T) {
		inst, _ := startStandard(t, "authzen: {pep_auth: api_key, api_keys_sha256: ["+hex.EncodeToString(sum[:])+"]}")
		tests := []struct {
			name      string
			headers   []string
			status    int
			challenge string
		}{
			{name: "bearer key", headers: []string{"Authorization", "Bearer pep-secret"}, status: 200},
			{name: "X-API-Key", headers: []string{"X-API-Key", "pep-secret"}, status: 200},
			{name: "wrong key", headers: []string{"X-API-Key", "guess"}, status: 401, challenge: `error="invalid_token"`},
			{name: "no key", status: 401, challenge: `Bearer realm="verdict"`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				resp := postJSON(t, inst.URL+"/access/v1/evaluation", evaluation, tt.headers...)
				if resp.Status != tt.status || !strings.Contains(resp.Header.Get("WWW-Authenticate"), tt.challenge) {
					t.Errorf("status %d, WWW-Authenticate %q", resp.Status, resp.Header.Get("WWW-Authenticate"))
				}
			})
		}
	})
	t.Run("jwt", func(t *testing.T) {
		inst, is := startStandard(t, "authzen: {pep_auth: jwt, issuer: '"+e2eIssuer+"', scope: 'authzen:evaluate'}")
		tests := []struct {
			name      string
			scope     string
			status    int
			challenge string
		}{
			{name: "PEP token with the scope", scope: "openid authzen:evaluate", status: 200},
			{name: "PEP token without the scope", scope: "openid", status: 403, challenge: `error="insufficient_scope"`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tok := is.sign(t, is.claims("gateway", map[string]any{"scope": tt.scope}))
				resp := postJSON(t, inst.URL+"/access/v1/evaluation", evaluation, bearer(tok)...)
				if resp.Status != tt.status || !strings.Contains(resp.Header.Get("WWW-Authenticate"), tt.challenge) {
					t.Errorf("status %d, WWW-Authenticate %q, body %s", resp.Status, resp.Header.Get("WWW-Authenticate"), resp.Body)
				}
			})
		}
		if resp := postJSON(t, inst.URL+"/access/v1/evaluation", evaluation); resp.Status != 401 {
			t.Errorf("no PEP token: status %d", resp.Status)
		}
	})
}

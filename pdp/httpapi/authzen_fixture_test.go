package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/verdict-pdp/verdict/pdp/bundle"
	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/decisionlog"
	"github.com/verdict-pdp/verdict/pdp/engine"
	"github.com/verdict-pdp/verdict/pdp/token"
)

// standardBundle is the test bundle shared with the end-to-end tests: the AuthZEN
// certification fixture on records, route rules and an entity directory.
const standardBundle = "../../tests/testdata/standard"

// fakeVerifier accepts the tokens it knows.
type fakeVerifier map[string]*token.Principal

func (f fakeVerifier) Verify(_ context.Context, raw string) (*token.Principal, error) {
	if p, ok := f[raw]; ok {
		return p, nil
	}
	return nil, fmt.Errorf("%w: unknown test token", token.ErrInvalidToken)
}

// testTokens are the principals the fake verifier knows, by token.
var testTokens = fakeVerifier{
	"alice-token": {Kind: "jwt", Issuer: "https://idp.test", Subject: "alice",
		Properties: map[string]any{"roles": []any{"editor"}}, Claims: map[string]any{"sub": "alice"}},
	"bob-token": {Kind: "jwt", Issuer: "https://idp.test", Subject: "bob",
		Properties: map[string]any{}, Claims: map[string]any{"sub": "bob"}},
	"alice-mfa-token": {Kind: "jwt", Issuer: "https://idp.test", Subject: "alice",
		Properties: map[string]any{"acr": "urn:verdict:mfa"}, Claims: map[string]any{"sub": "alice"}},
	"pep-token": {Kind: "jwt", Issuer: "https://pep.test", Subject: "gateway",
		Properties: map[string]any{"scopes": []any{"authzen:evaluate"}}, Claims: map[string]any{"scope": "authzen:evaluate"}},
	"pep-noscope-token": {Kind: "jwt", Issuer: "https://pep.test", Subject: "gateway",
		Properties: map[string]any{}, Claims: map[string]any{}},
}

// newTestServer serves the standard bundle with the fake verifier; edit adjusts the config.
func newTestServer(t *testing.T, edit func(*config.Config)) *Server {
	t.Helper()
	return newTestServerWith(t, edit, nil)
}

// newTestServerWith is newTestServer on a copy of the standard bundle with some files
// replaced (path relative to the bundle: content).
func newTestServerWith(t *testing.T, edit func(*config.Config), replace map[string]string) *Server {
	t.Helper()
	dir := standardBundle
	if replace != nil {
		dir = t.TempDir()
		if err := os.CopyFS(dir, os.DirFS(standardBundle)); err != nil {
			t.Fatal(err)
		}
		for name, content := range replace {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	cfg := config.Default()
	if edit != nil {
		edit(&cfg)
	}
	log := slog.New(slog.DiscardHandler)
	eng, err := engine.New(cfg.Policy, engine.Deps{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Load(dir, cfg.Policy.MaxBundleBytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Activate(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	s, err := New(cfg, Deps{Policy: eng, Tokens: testTokens, DecisionLog: decisionlog.Discard(), Logger: log,
		Registry: reg, Gatherer: reg, Now: func() time.Time { return time.Date(2026, 1, 12, 10, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// send serves one request in-process; headers are name, value pairs. A JSON content type is
// set for bodies unless the headers name one.
func send(t *testing.T, h http.Handler, method, path, body string, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := newRequest(method, path, body)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return serve(h, req)
}

// newRequest is a request with a JSON content type when it has a body.
func newRequest(method, path, body string) *http.Request {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// serve serves req in-process.
func serve(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// jsonBody decodes a response body into a generic value.
func jsonBody(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", rec.Body.String(), err)
	}
	return m
}

// compact re-encodes JSON without whitespace, for exact comparisons.
func compact(t *testing.T, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

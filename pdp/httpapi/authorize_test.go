package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
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

// fixture is a Server on the built-in policy trusting a development issuer.
type fixture struct {
	srv *Server
	key *token.DevKey
	eng *engine.Engine
}

func newFixture(tb testing.TB, activate bool) *fixture {
	tb.Helper()
	return newFixtureWith(tb, activate, nil)
}

// newFixtureWith is newFixture with a hook that changes the configuration and the
// collaborators before the server is built.
func newFixtureWith(tb testing.TB, activate bool, change func(*config.Config, *Deps)) *fixture {
	tb.Helper()
	cfg := config.Default()
	key, err := token.LoadOrCreateDevKey(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Tokens.Issuers = []config.Issuer{key.Issuer()}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		tb.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	eng, err := engine.New(cfg.Policy, engine.Deps{Logger: log})
	if err != nil {
		tb.Fatal(err)
	}
	if activate {
		b, err := bundle.Builtin()
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := eng.Activate(context.Background(), b); err != nil {
			tb.Fatal(err)
		}
	}
	verifier, err := token.New(cfg.Tokens, token.Deps{Logger: log, Now: time.Now})
	if err != nil {
		tb.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	deps := Deps{Policy: eng, Tokens: verifier, DecisionLog: decisionlog.Discard(), Logger: log,
		Registry: reg, Gatherer: reg}
	if change != nil {
		change(&cfg, &deps)
	}
	srv, err := New(cfg, deps)
	if err != nil {
		tb.Fatal(err)
	}
	return &fixture{srv: srv, key: key, eng: eng}
}

func (f *fixture) token(tb testing.TB, claims map[string]any) string {
	tb.Helper()
	base := map[string]any{"sub": "alice", "roles": []string{"editor"}, "tenant": "acme",
		"amr": []string{"pwd", "otp"}, "auth_time": time.Now().Unix()}
	for k, v := range claims {
		base[k] = v
	}
	tok, err := f.key.Mint(base, time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

func (f *fixture) post(tok, body string, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/v1/authorize", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	return rec
}

const readInternal = `{"action":"read","resource":{"type":"document","id":"d1","properties":{"tenant":"acme","owner":"bob","classification":"internal"}}}`

func TestAuthorize(t *testing.T) {
	f := newFixture(t, true)
	editor := f.token(t, nil)
	tests := []struct {
		name   string
		tok    string
		body   string
		status int
		allow  bool
		code   string
	}{
		{name: "allow", tok: editor, body: readInternal, status: 200, allow: true},
		{name: "action object", tok: editor, status: 200, allow: true,
			body: `{"action":{"name":"read"},"resource":{"type":"document","id":"d1","properties":{"tenant":"acme"}}}`},
		{name: "deny is 200", tok: editor, status: 200,
			body: `{"action":"delete","resource":{"type":"document","id":"d1","properties":{"tenant":"acme","owner":"bob"}}}`},
		{name: "caller cannot choose the time", tok: f.token(t, map[string]any{"auth_time": time.Now().Add(-time.Hour).Unix()}),
			status: 200, allow: false,
			body: `{"action":"delete","resource":{"type":"document","id":"d1","properties":{"tenant":"acme","owner":"alice"}},` +
				`"context":{"new_device":true,"time":"2020-01-01T10:00:00Z"}}`},
		{name: "subject in body is ignored", tok: f.token(t, map[string]any{"roles": []string{"viewer"}}), status: 200,
			body: `{"subject":{"id":"root","properties":{"roles":["admin"]}},"action":"update","resource":{"type":"document","id":"d1","properties":{"tenant":"acme","owner":"alice"}}}`},
		{name: "no token", body: readInternal, status: 401, code: CodeUnauthorized},
		{name: "garbage token", tok: "abc.def.ghi", body: readInternal, status: 401, code: CodeInvalidToken},
		{name: "action missing", tok: editor, body: `{"resource":{"type":"document","id":"d1"}}`, status: 400, code: CodeInvalidRequest},
		{name: "action wrong type", tok: editor, body: `{"action":5,"resource":{"type":"document","id":"d1"}}`, status: 400, code: CodeInvalidRequest},
		{name: "resource wrong type", tok: editor, body: `{"action":"read","resource":"doc"}`, status: 400, code: CodeInvalidRequest},
		{name: "resource type missing", tok: editor, body: `{"action":"read","resource":{"id":"x"}}`, status: 400, code: CodeInvalidRequest},
		{name: "resource id missing", tok: editor, body: `{"action":"read","resource":{"type":"document","properties":{"tenant":"acme"}}}`,
			status: 400, code: CodeInvalidRequest},
		{name: "resource id empty", tok: editor, body: `{"action":"read","resource":{"type":"document","id":"","properties":{"tenant":"acme"}}}`,
			status: 400, code: CodeInvalidRequest},
		{name: "empty body", tok: editor, body: ``, status: 400, code: CodeInvalidRequest},
		{name: "two documents", tok: editor, body: readInternal + readInternal, status: 400, code: CodeInvalidRequest},
		{name: "too large", tok: editor, body: `{"action":"read","context":{"p":"` + strings.Repeat("x", 70000) + `"}}`,
			status: 413, code: CodeBodyTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := f.post(tt.tok, tt.body)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if tt.code != "" {
				e, _ := body["error"].(map[string]any)
				if e["code"] != tt.code || body["request_id"] == "" {
					t.Fatalf("error body %s, want code %s and a request_id", rec.Body, tt.code)
				}
				return
			}
			if body["allow"] != tt.allow {
				t.Fatalf("allow = %v, want %v: %s", body["allow"], tt.allow, rec.Body)
			}
			if _, ok := body["obligations"].([]any); !ok {
				t.Errorf("obligations is not an array: %s", rec.Body)
			}
		})
	}
}

func TestNoPolicyIs503(t *testing.T) {
	f := newFixture(t, false)
	rec := f.post(f.token(t, nil), readInternal)
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), CodePolicyUnavailable) {
		t.Fatalf("status %d body %s", rec.Code, rec.Body)
	}
	ready := httptest.NewRecorder()
	f.srv.ServeHTTP(ready, httptest.NewRequest(http.MethodGet, "/ready", nil))
	if ready.Code != http.StatusServiceUnavailable {
		t.Fatalf("/ready before activation: %d", ready.Code)
	}
}

func TestUnknownRouteAndMethod(t *testing.T) {
	f := newFixture(t, true)
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/nope", 404},
		{http.MethodGet, "/v1/authorize", 405},
	} {
		rec := httptest.NewRecorder()
		f.srv.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.status {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, rec.Code, tc.status)
		}
	}
}

func TestMetricsCountDecisions(t *testing.T) {
	f := newFixture(t, true)
	f.post(f.token(t, nil), readInternal)
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, want := range []string{
		`verdict_decisions_total{result="allow"} 1`,
		`verdict_decisions_total{result="error"} 0`,
		`verdict_decision_duration_seconds_count{api="authorize"} 1`,
		`verdict_decision_duration_seconds_bucket{api="authorize",le="0.2"} 1`,
		`verdict_http_requests_total{code="200",route="/v1/authorize"} 1`,
		"verdict_token_cache_misses_total 1",
		// verdict_decision_log_* are the decision log's own (pdp/decisionlog, tests/decisionlog_test.go).
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// BenchmarkAuthorize measures the whole handler from 2 goroutines: bearer extraction, cached
// token verification, decoding, evaluation against the built-in policy, encoding. "repeated"
// sends one request over and over, answered from the decision cache but once a second;
// "uncached" is the same without the decision cache, so every request is evaluated.
func BenchmarkAuthorize(b *testing.B) {
	for _, bc := range []struct {
		name  string
		bytes int64
	}{{"repeated", config.DefaultDecisionCacheBytes}, {"uncached", 0}} {
		b.Run(bc.name, func(b *testing.B) {
			benchPost(b, newFixtureWith(b, true, cacheBytes(bc.bytes)))
		})
	}
}

// benchPost sends one /v1/authorize request over and over from every goroutine.
func benchPost(b *testing.B, f *fixture) {
	tok := f.token(b, nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if rec := f.post(tok, readInternal); rec.Code != 200 {
				b.Errorf("status %d", rec.Code)
				return
			}
		}
	})
}

// The stages of the request path that httpapi owns, one benchmark each, so a change to one is
// judged with benchstat (docs/performance.md): decoding in decode_bench_test.go, encoding and
// the decision record here. Token verification, input construction and evaluation have theirs
// in pdp/token and pdp/engine.

func BenchmarkEncodeNative(b *testing.B) {
	resp := nativeResponse("f65e567e5218d664b8f60992080f725d", engine.Decision{Allow: true,
		Reasons: []string{"rbac: role editor grants read on document"}, Obligations: []map[string]any{},
		Risk: map[string]any{"level": "low", "score": 10, "signals": []any{"off_hours"}}, Revision: "sha256:00fb0319d223"})
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		w.Body.Reset()
		writeJSON(w, http.StatusOK, resp)
	}
}

// BenchmarkRecord is the per-decision bookkeeping: id, metrics and a decision-log record
// queued for a writer that discards it.
func BenchmarkRecord(b *testing.B) {
	f := newFixtureWith(b, true, func(_ *config.Config, d *Deps) {
		d.DecisionLog = mustDecisionLog(b, io.Discard, config.DecisionLog{Buffer: 1 << 16}, d.Logger)
	})
	o := outcomeOf(&engine.Input{
		Subject: engine.Subject{Type: "user", ID: "alice"}, Action: engine.Action{Name: "read"},
		Resource: engine.Resource{Type: "document", ID: "d1"},
	}, engine.Decision{Allow: true, Reasons: []string{"rbac: role editor grants read on document"}, Revision: "sha256:00fb0319d223"})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		f.srv.record(ctx, "/v1/authorize", time.Now(), o, nil)
	}
}

package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/verdict-pdp/verdict/pdp/bundle"
	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/decisionlog"
	"github.com/verdict-pdp/verdict/pdp/token"
)

// fixedStatus is a StatusReporter with a set answer.
type fixedStatus bundle.Status

func (f fixedStatus) Status() bundle.Status { return bundle.Status(f) }

func TestStatus(t *testing.T) {
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	reporter := fixedStatus{
		Source: "https://bundles.example/verdict.tar.gz", Revision: "r7", Origin: bundle.OriginPersisted, ActivatedAt: &at,
		LastAttempt: &bundle.Attempt{At: at, Result: bundle.ResultError, Reason: bundle.ReasonSource, Error: "connection refused"},
		NextPoll:    &at,
	}
	tests := []struct {
		name       string
		activate   bool
		status     StatusReporter
		wantRev    bool
		wantPolicy bool
	}{
		{name: "serving, with a manager", activate: true, status: reporter, wantRev: true, wantPolicy: true},
		{name: "serving, no manager", activate: true, wantRev: true},
		{name: "nothing serving yet", status: reporter, wantPolicy: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.activate)
			srv := f.srv
			if tt.status != nil {
				srv = statusServer(t, f, tt.status)
			}
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/status", nil))
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			var body struct {
				Revision    string         `json:"revision"`
				ActivatedAt *time.Time     `json:"activated_at"`
				Policy      *bundle.Status `json:"policy"`
				Tokens      *token.Stats   `json:"tokens"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if (body.Revision != "") != tt.wantRev || (body.ActivatedAt != nil) != tt.wantRev {
				t.Errorf("revision %q, activated at %v", body.Revision, body.ActivatedAt)
			}
			if tt.wantRev && body.Revision != f.eng.Current().Revision() {
				t.Errorf("revision %q, serving %q", body.Revision, f.eng.Current().Revision())
			}
			if (body.Policy != nil) != tt.wantPolicy {
				t.Fatalf("policy = %+v", body.Policy)
			}
			if tt.wantPolicy && (body.Policy.Origin != bundle.OriginPersisted || body.Policy.LastAttempt.Reason != bundle.ReasonSource) {
				t.Errorf("policy = %+v", body.Policy)
			}
			if body.Tokens == nil || len(body.Tokens.Issuers) != 1 || body.Tokens.Cache.Capacity == 0 {
				t.Errorf("tokens = %+v", body.Tokens)
			}
		})
	}
}

// statusServer is the fixture's configuration served with a StatusReporter.
func statusServer(t *testing.T, f *fixture, st StatusReporter) *Server {
	t.Helper()
	cfg := config.Default()
	cfg.Tokens.Issuers = []config.Issuer{f.key.Issuer()}
	cfg.SetDefaults()
	log := slog.New(slog.DiscardHandler)
	verifier, err := token.New(cfg.Tokens, token.Deps{Logger: log, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	srv, err := New(cfg, Deps{Policy: f.eng, Tokens: verifier, DecisionLog: decisionlog.Discard(), Logger: log,
		Registry: reg, Gatherer: reg, Status: st})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

package token

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"

	"github.com/verdict-pdp/verdict/pdp/config"
)

// jwksServer is an in-process JWKS endpoint whose answer the test changes: a key set, or a
// failure. It counts the requests it serves.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	body    []byte
	status  int
	ctype   string
	delay   time.Duration
	fetches atomic.Int64
}

func newJWKSServer(t testing.TB, keys ...jwkEntry) *jwksServer {
	t.Helper()
	s := &jwksServer{status: http.StatusOK, ctype: "application/json"}
	s.publish(t, keys...)
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) serve(w http.ResponseWriter, r *http.Request) {
	s.fetches.Add(1)
	s.mu.Lock()
	body, status, ctype, delay := s.body, s.status, s.ctype, s.delay
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", ctype)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// publish serves a JWKS of keys with status 200.
func (s *jwksServer) publish(t testing.TB, keys ...jwkEntry) {
	t.Helper()
	set := jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{}}
	for _, k := range keys {
		jwk, err := jwkset.NewJWKFromKey(k.pub, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{
			KID: k.kid, ALG: jwkset.ALG(k.alg), USE: jwkset.UseSig,
		}})
		if err != nil {
			t.Fatalf("jwk %s: %v", k.kid, err)
		}
		set.Keys = append(set.Keys, jwk.Marshal())
	}
	data, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	s.answer(http.StatusOK, data)
}

// answer serves status and body from now on.
func (s *jwksServer) answer(status int, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.body = status, body
}

func (s *jwksServer) setDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// remoteConfig is the fixture's main issuer with its keys at url instead of a file.
func (f *fixture) remoteConfig(url string) config.Tokens {
	cfg := f.cfg
	cfg.Issuers = []config.Issuer{f.cfg.Issuers[0]}
	cfg.Issuers[0].JWKSFile = ""
	cfg.Issuers[0].JWKSURL = url
	cfg.Issuers[0].RefreshInterval = time.Hour
	cfg.Issuers[0].RefreshRateLimit = 10 * time.Second
	cfg.Issuers[0].FetchTimeout = 2 * time.Second
	return cfg
}

// newRemoteVerifier builds a Verifier over cfg on clk, closed when the test ends.
func newRemoteVerifier(t testing.TB, cfg config.Tokens, clk *clock, deps Deps) *Verifier {
	t.Helper()
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	deps.Now = clk.now
	v, err := New(cfg, deps)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = v.Close() })
	return v
}

// waitFirstFetch waits until the background loop's first fetch for the Verifier's first issuer
// has ended, well or badly.
func waitFirstFetch(t testing.TB, v *Verifier) IssuerStats {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		st := v.Stats().Issuers[0]
		if st.LastRefresh != nil || st.LastError != "" {
			return st
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("the first fetch did not end: %+v", v.Stats().Issuers[0])
	return IssuerStats{}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

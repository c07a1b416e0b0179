package token

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/verdict-pdp/verdict/pdp/config"
)

// Client credentials with characters that client_secret_basic must form-urlencode (RFC 6749
// §2.3.1) before base64: a colon in the id would otherwise split it.
const (
	asClientID = "verdict:pdp 1"
	asSecret   = "s3cr%t+/=:"
)

// asAnswer is what the in-process authorization server answers for one token.
type asAnswer struct {
	status   int    // 0 means 200
	ctype    string // "" means application/json
	body     string
	redirect string
}

// asServer is an in-process RFC 7662 introspection endpoint. It insists on a correct request
// (POST, form body, token_type_hint, client_secret_basic with form-urlencoded credentials) and
// answers per token; unknown tokens are inactive. While gate is set, every call waits on it.
type asServer struct {
	*httptest.Server
	mu      sync.Mutex
	answers map[string]asAnswer
	calls   map[string]int
	gate    chan struct{}
	total   atomic.Int64
}

func newASServer(t testing.TB) *asServer {
	t.Helper()
	s := &asServer{answers: map[string]asAnswer{}, calls: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *asServer) serve(w http.ResponseWriter, r *http.Request) {
	s.total.Add(1)
	if problem := badIntrospectionRequest(r); problem != "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = fmt.Fprintf(w, `{"error":"invalid_client","error_description":%q}`, problem)
		return
	}
	tok := r.PostForm.Get("token")
	s.mu.Lock()
	s.calls[tok]++
	a, ok := s.answers[tok]
	gate := s.gate
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
	}
	if !ok {
		a = asAnswer{body: `{"active":false}`}
	}
	if a.redirect != "" {
		http.Redirect(w, r, a.redirect, http.StatusTemporaryRedirect)
		return
	}
	if a.ctype == "" {
		a.ctype = "application/json"
	}
	if a.status == 0 {
		a.status = http.StatusOK
	}
	w.Header().Set("Content-Type", a.ctype)
	w.WriteHeader(a.status)
	_, _ = w.Write([]byte(a.body))
}

// badIntrospectionRequest says what is wrong with an introspection request, "" if nothing.
func badIntrospectionRequest(r *http.Request) string {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		return "not a form POST"
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("token") == "" {
		return "no token"
	}
	if r.PostForm.Get("token_type_hint") != "access_token" {
		return "no token_type_hint"
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		return "no client_secret_basic"
	}
	id, err1 := url.QueryUnescape(user)
	secret, err2 := url.QueryUnescape(pass)
	if err1 != nil || err2 != nil || id != asClientID || secret != asSecret {
		return "bad client credentials"
	}
	return ""
}

func (s *asServer) answer(tok string, a asAnswer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers[tok] = a
}

func (s *asServer) callsFor(tok string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[tok]
}

// hold makes calls wait until the returned release is called.
func (s *asServer) hold() (release func()) {
	gate := make(chan struct{})
	s.mu.Lock()
	s.gate = gate
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		s.gate = nil
		s.mu.Unlock()
		close(gate)
	}
}

// activeAnswer is an active RFC 7662 answer for testIssuer at testNow, changed by edits (a nil
// value deletes a member).
func activeAnswer(edits map[string]any) asAnswer {
	doc := map[string]any{
		"active": true, "iss": testIssuer, "aud": "verdict", "sub": "alice", "client_id": "web",
		"exp": testNow.Add(10 * time.Minute).Unix(), "iat": testNow.Add(-time.Minute).Unix(),
		"jti": "op-1", "scope": "docs:read docs:write", "token_type": "Bearer",
		"roles": []any{"editor"}, "tenant": "acme", "username": "alice@example.com",
	}
	for k, v := range edits {
		if v == nil {
			delete(doc, k)
			continue
		}
		doc[k] = v
	}
	data, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return asAnswer{body: string(data)}
}

// introspectionConfig is the fixture's configuration with introspection at as.
func (f *fixture) introspectionConfig(as *asServer) config.Tokens {
	cfg := f.cfg
	cfg.Introspection = &config.Introspection{
		URL: as.URL, ClientID: asClientID, ClientSecret: asSecret,
		Issuer: testIssuer, Audiences: []string{"verdict", "verdict-api"},
		Claims: map[string]string{"roles": "roles", "groups": "ext.groups"},
	}
	cfg.SetDefaults()
	return cfg
}

// introspectionCase is one row of the introspection table: the answer the server gives and
// the sentinels Verify must return (nil: accepted).
type introspectionCase struct {
	name   string
	answer asAnswer
	want   error
	reason error
}

func introspectionCases() []introspectionCase {
	in := func(d time.Duration) int64 { return testNow.Add(d).Unix() }
	unavailable := func(name string, a asAnswer) introspectionCase {
		return introspectionCase{name: name, answer: a, want: ErrUnavailable}
	}
	refused := func(name string, edits map[string]any, reason error) introspectionCase {
		return introspectionCase{name: name, answer: activeAnswer(edits), want: ErrInvalidToken, reason: reason}
	}
	return []introspectionCase{
		{name: "active", answer: activeAnswer(nil)},
		{name: "active, aud array naming the second audience", answer: activeAnswer(clm{"aud": []any{"x", "verdict-api"}})},
		{name: "active, token_type access_token", answer: activeAnswer(clm{"token_type": "access_token"})},
		{name: "active, no token_type, no exp", answer: activeAnswer(clm{"token_type": nil, "exp": nil})},
		{name: "active, expired within the leeway", answer: activeAnswer(clm{"exp": in(-10 * time.Second)})},
		{name: "active, Content-Type with charset", answer: func() asAnswer {
			a := activeAnswer(nil)
			a.ctype = "application/json; charset=utf-8"
			return a
		}()},

		{name: "inactive", answer: asAnswer{body: `{"active":false}`}, want: ErrInvalidToken, reason: ErrInactive},
		refused("active is the string true", clm{"active": "true"}, ErrInactive),
		refused("active is 1", clm{"active": 1}, ErrInactive),
		refused("active missing", clm{"active": nil}, ErrInactive),
		refused("expired", clm{"exp": in(-time.Minute)}, jwt.ErrTokenExpired),
		refused("nbf in the future", clm{"nbf": in(5 * time.Minute)}, jwt.ErrTokenNotValidYet),
		refused("iat in the future", clm{"iat": in(5 * time.Minute)}, jwt.ErrTokenUsedBeforeIssued),
		refused("exp is a string", clm{"exp": "tomorrow"}, ErrClaim),
		refused("exp past year 9999", clm{"exp": 1e15}, ErrTimeRange),
		refused("exp in 2318 (11000000000)", clm{"exp": 11000000000}, ErrTimeRange),
		refused("exp past the int64 nanoseconds of 2262", clm{"exp": 9223372037}, ErrTimeRange),
		refused("exp beyond int64 seconds", clm{"exp": 1e300}, ErrTimeRange),
		refused("iat in 1600", clm{"iat": -11676096000}, ErrTimeRange),
		refused("nbf before 1970", clm{"nbf": -1}, ErrTimeRange),
		refused("wrong aud", clm{"aud": "billing"}, jwt.ErrTokenInvalidAudience),
		refused("aud array without ours", clm{"aud": []any{"billing", "crm"}}, jwt.ErrTokenInvalidAudience),
		refused("missing aud", clm{"aud": nil}, jwt.ErrTokenInvalidAudience),
		refused("wrong iss", clm{"iss": "https://evil.example.com"}, jwt.ErrTokenInvalidIssuer),
		refused("missing iss", clm{"iss": nil}, jwt.ErrTokenInvalidIssuer),
		refused("token_type refresh_token", clm{"token_type": "refresh_token"}, ErrType),
		refused("token_type DPoP", clm{"token_type": "DPoP"}, ErrType),
		refused("sub is not a string", clm{"sub": 42}, ErrClaim),

		unavailable("status 500", asAnswer{status: http.StatusInternalServerError, body: `{"active":true}`}),
		unavailable("status 401", asAnswer{status: http.StatusUnauthorized, body: `{"error":"invalid_client"}`}),
		unavailable("Content-Type text/html", asAnswer{ctype: "text/html", body: `{"active":true}`}),
		unavailable("Content-Type application/jwt (RFC 9701)", asAnswer{ctype: "application/token-introspection+jwt", body: "e30.e30.sig"}),
		unavailable("JSON Content-Type, body not JSON", asAnswer{body: `<html>active</html>`}),
		unavailable("JSON null", asAnswer{body: `null`}),
		unavailable("JSON array", asAnswer{body: `[{"active":true}]`}),
		unavailable("trailing data", asAnswer{body: `{"active":false} {"active":true}`}),
		unavailable("duplicate active member", asAnswer{body: `{"active":false,"active":true}`}),
		unavailable("invalid UTF-8", asAnswer{body: "{\"active\":true,\"sub\":\"\xff\"}"}),
		unavailable("over max_response_bytes", asAnswer{body: `{"active":true,"pad":"` + strings.Repeat("x", 70<<10) + `"}`}),
		unavailable("redirect", asAnswer{redirect: "https://elsewhere.example.com/introspect"}),
	}
}

func TestIntrospection(t *testing.T) {
	f := newFixture(t)
	as := newASServer(t)
	rev := &fakeRevocation{}
	v := newRemoteVerifier(t, f.introspectionConfig(as), newClock(testNow), Deps{Revocation: rev})
	for i, tc := range introspectionCases() {
		t.Run(tc.name, func(t *testing.T) {
			tok := fmt.Sprintf("opaque-%d_~+/=", i)
			as.answer(tok, tc.answer)
			p, err := v.Verify(context.Background(), tok)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if p.Kind != "opaque" || p.Subject != "alice" || p.Issuer != testIssuer || p.TokenID != "op-1" {
					t.Fatalf("principal = %+v", p)
				}
				if !slices.Equal(p.Properties["scopes"].([]any), []any{"docs:read", "docs:write"}) ||
					p.Properties["tenant"] != "acme" || p.Properties["client_id"] != "web" {
					t.Fatalf("properties = %v", p.Properties)
				}
				return
			}
			if !errors.Is(err, tc.want) || (tc.reason != nil && !errors.Is(err, tc.reason)) {
				t.Fatalf("err = %v, want %v and %v", err, tc.want, tc.reason)
			}
			if p != nil {
				t.Fatal("principal returned with an error")
			}
			if strings.Contains(err.Error(), tok) || strings.Contains(err.Error(), asSecret) {
				t.Fatalf("error echoes the token or the secret: %v", err)
			}
			if n := as.callsFor(tok); n != 1 {
				t.Fatalf("calls = %d, want 1", n)
			}
		})
	}
	if st := v.Stats().Introspection; st == nil || st.Calls != uint64(len(introspectionCases())) || st.Failures == 0 {
		t.Fatalf("stats = %+v", st)
	}
}

// TestIntrospectionNeverFallsBack checks the two paths stay apart: a JWT-shaped string is never
// introspected, whatever it holds; an opaque token is refused as malformed when introspection is
// not configured; a valid JWT is verified locally although introspection is configured.
func TestIntrospectionNeverFallsBack(t *testing.T) {
	f := newFixture(t)
	as := newASServer(t)
	v := newRemoteVerifier(t, f.introspectionConfig(as), newClock(testNow), Deps{})
	for _, tok := range []string{"a.b.c", "not.a.jwt", f.rs256(t, hdr{"kid": "nope"}, claims(nil))} {
		as.answer(tok, activeAnswer(nil))
		verifyFails(t, v, tok, ErrInvalidToken)
	}
	verifyOK(t, v, f.rs256(t, nil, claims(nil)))
	if n := as.total.Load(); n != 0 {
		t.Fatalf("introspection called %d times for JWT-shaped tokens", n)
	}
	verifyFails(t, f.verifier(t, Deps{}), "opaque-token", ErrInvalidToken, ErrMalformed)
}

// TestIntrospectionUnavailable checks an authorization server that is down or too slow gives
// ErrUnavailable, and that a request waits no longer than its own context.
func TestIntrospectionUnavailable(t *testing.T) {
	f := newFixture(t)
	t.Run("server down", func(t *testing.T) {
		as := newASServer(t)
		v := newRemoteVerifier(t, f.introspectionConfig(as), newClock(testNow), Deps{})
		as.Close()
		verifyFails(t, v, "opaque", ErrUnavailable)
	})
	t.Run("timeout", func(t *testing.T) {
		as := newASServer(t)
		cfg := f.introspectionConfig(as)
		cfg.Introspection.Timeout = 100 * time.Millisecond
		v := newRemoteVerifier(t, cfg, newClock(testNow), Deps{})
		defer as.hold()()
		verifyFails(t, v, "opaque", ErrUnavailable, context.DeadlineExceeded)
	})
	t.Run("request deadline", func(t *testing.T) {
		as := newASServer(t)
		v := newRemoteVerifier(t, f.introspectionConfig(as), newClock(testNow), Deps{})
		defer as.hold()()
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		if _, err := v.Verify(ctx, "opaque"); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("err = %v", err)
		}
		if took := time.Since(start); took > time.Second {
			t.Fatalf("waited %s", took)
		}
	})
}

// TestIntrospectionSharesConcurrentCalls sends one opaque token from many goroutines at once
// with the positive cache off: one upstream call serves them all.
func TestIntrospectionSharesConcurrentCalls(t *testing.T) {
	f := newFixture(t)
	as := newASServer(t)
	cfg := f.introspectionConfig(as)
	cfg.Introspection.CacheTTL = new(time.Duration(0))
	v := newRemoteVerifier(t, cfg, newClock(testNow), Deps{})
	as.answer("shared", activeAnswer(nil))
	release := as.hold()
	const n = 50
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if p, err := v.Verify(context.Background(), "shared"); err != nil || p.Subject != "alice" {
				t.Errorf("Verify = %v, %v", p, err)
			}
		}()
	}
	time.Sleep(200 * time.Millisecond) // let every goroutine join the call in flight
	release()
	wg.Wait()
	if c := as.callsFor("shared"); c != 1 {
		t.Fatalf("upstream calls = %d, want 1 for %d concurrent requests", c, n)
	}
	if st := v.Stats().Introspection; st.Shared != n {
		t.Fatalf("shared = %d, want %d", st.Shared, n)
	}
	// Without the cache, the next request calls again: nothing stale is served.
	verifyOK(t, v, "shared")
	if c := as.callsFor("shared"); c != 2 {
		t.Fatalf("upstream calls = %d, want 2", c)
	}
}

// TestIntrospectionCache checks an active answer is reused until min(exp, now + cache_ttl), never
// after, even while the authorization server is down.
func TestIntrospectionCache(t *testing.T) {
	f := newFixture(t)
	as := newASServer(t)
	clk := newClock(testNow)
	cfg := f.introspectionConfig(as) // cache_ttl 30s
	cfg.Introspection.Leeway = new(time.Duration(0))
	v := newRemoteVerifier(t, cfg, clk, Deps{})
	as.answer("short", activeAnswer(clm{"exp": testNow.Add(10 * time.Second).Unix(), "jti": "short"}))
	as.answer("long", activeAnswer(clm{"exp": testNow.Add(time.Hour).Unix(), "jti": "long"}))
	verifyOK(t, v, "short")
	verifyOK(t, v, "long")

	clk.advance(9 * time.Second)
	verifyOK(t, v, "short")
	verifyOK(t, v, "long")
	if as.callsFor("short") != 1 || as.callsFor("long") != 1 {
		t.Fatalf("calls within the cache: short %d, long %d", as.callsFor("short"), as.callsFor("long"))
	}

	clk.advance(2 * time.Second) // short is past its exp (the cache bound), long is not past 30s
	verifyOK(t, v, "long")
	verifyFails(t, v, "short", ErrInvalidToken, jwt.ErrTokenExpired)
	if as.callsFor("short") != 2 || as.callsFor("long") != 1 {
		t.Fatalf("calls after exp: short %d, long %d", as.callsFor("short"), as.callsFor("long"))
	}

	clk.advance(20 * time.Second) // long is past now + cache_ttl, and the server is down
	as.answer("long", asAnswer{status: http.StatusBadGateway})
	verifyFails(t, v, "long", ErrUnavailable)
	if as.callsFor("long") != 2 {
		t.Fatalf("calls after the ttl: long %d", as.callsFor("long"))
	}
}

// TestIntrospectionInactiveCache checks refused answers are remembered briefly in a cache of
// their own: a retried dead token costs no call, a flood of them does not evict good entries.
func TestIntrospectionInactiveCache(t *testing.T) {
	f := newFixture(t)
	as := newASServer(t)
	clk := newClock(testNow)
	cfg := f.introspectionConfig(as)
	cfg.CacheSize = 2
	v := newRemoteVerifier(t, cfg, clk, Deps{}) // inactive_cache_ttl 5s
	as.answer("good", activeAnswer(nil))
	verifyOK(t, v, "good")

	verifyFails(t, v, "dead", ErrInvalidToken, ErrInactive)
	verifyFails(t, v, "dead", ErrInvalidToken, ErrInactive)
	if c := as.callsFor("dead"); c != 1 {
		t.Fatalf("calls for a retried dead token = %d, want 1", c)
	}
	for i := range 500 {
		verifyFails(t, v, fmt.Sprintf("garbage-%d", i), ErrInactive)
	}
	verifyOK(t, v, "good")
	if c := as.callsFor("good"); c != 1 {
		t.Fatalf("garbage evicted the good token: %d calls", c)
	}

	clk.advance(6 * time.Second)
	as.answer("dead", activeAnswer(nil)) // activated since: seen once the entry expires
	verifyOK(t, v, "dead")
	st := v.Stats().Introspection
	if st.InactiveHits != 1 || st.InactiveEntries == 0 {
		t.Fatalf("stats = %+v", st)
	}
}

// TestIntrospectionRevocation checks an introspected token is checked for revocation on every
// request, cached or not.
func TestIntrospectionRevocation(t *testing.T) {
	f := newFixture(t)
	as := newASServer(t)
	rev := &fakeRevocation{}
	v := newRemoteVerifier(t, f.introspectionConfig(as), newClock(testNow), Deps{Revocation: rev})
	as.answer("tok", activeAnswer(nil))
	verifyOK(t, v, "tok")
	rev.set("op-1", nil)
	verifyFails(t, v, "tok", ErrInvalidToken, ErrRevoked)
	if rev.count() != 2 || as.callsFor("tok") != 1 {
		t.Fatalf("revocation checks %d, calls %d", rev.count(), as.callsFor("tok"))
	}
}

// TestIntrospectionClaimMapping checks the introspection claims mapping feeds the properties.
func TestIntrospectionClaimMapping(t *testing.T) {
	f := newFixture(t)
	as := newASServer(t)
	v := newRemoteVerifier(t, f.introspectionConfig(as), newClock(testNow), Deps{})
	as.answer("tok", activeAnswer(clm{"ext": map[string]any{"groups": []any{"ops"}}, "scope": nil, "scp": []any{"a", "b"}}))
	p := verifyOK(t, v, "tok")
	want := map[string]any{"roles": []any{"editor"}, "tenant": "acme", "client_id": "web", "scopes": []any{"a", "b"}}
	for k, w := range want {
		if fmt.Sprint(p.Properties[k]) != fmt.Sprint(w) {
			t.Errorf("%s = %v, want %v", k, p.Properties[k], w)
		}
	}
	if _, ok := p.Properties["groups"]; !ok {
		t.Errorf("groups not mapped: %v", slices.Sorted(maps.Keys(p.Properties)))
	}
}

// peakTransport counts the requests Verdict has in flight, as its client sees them.
type peakTransport struct {
	inFlight, peak atomic.Int64
}

func (p *peakTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	n := p.inFlight.Add(1)
	defer p.inFlight.Add(-1)
	for old := p.peak.Load(); n > old && !p.peak.CompareAndSwap(old, n); old = p.peak.Load() {
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestIntrospectionConcurrencyBound sends many distinct opaque tokens at once to a stalled
// authorization server: Verdict never has more than max_concurrent calls in flight, every token
// is unavailable (503) rather than accepted, and once the server answers again tokens verify.
func TestIntrospectionConcurrencyBound(t *testing.T) {
	f := newFixture(t)
	as := newASServer(t)
	cfg := f.introspectionConfig(as)
	cfg.Introspection.MaxConcurrent = 2
	cfg.Introspection.Timeout = 200 * time.Millisecond
	transport := &peakTransport{}
	v := newRemoteVerifier(t, cfg, newClock(testNow), Deps{HTTPClient: &http.Client{Transport: transport}})
	release := as.hold()
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := v.Verify(context.Background(), fmt.Sprintf("opaque-%d", i)); !errors.Is(err, ErrUnavailable) {
				t.Errorf("token %d: err = %v, want ErrUnavailable", i, err)
			}
		}()
	}
	wg.Wait()
	release()
	if p := transport.peak.Load(); p != 2 {
		t.Fatalf("peak calls in flight = %d, want 2 (max_concurrent)", p)
	}
	as.answer("later", activeAnswer(nil))
	verifyOK(t, v, "later")
}

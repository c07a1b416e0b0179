package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/verdict-pdp/verdict/pdp/bundle"
	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/decisionlog"
	"github.com/verdict-pdp/verdict/pdp/engine"
	"github.com/verdict-pdp/verdict/pdp/token"
)

// recordSink collects decision-log lines.
type recordSink struct {
	mu    sync.Mutex
	lines bytes.Buffer
}

func (s *recordSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lines.Write(p)
}

func (s *recordSink) records(t *testing.T) []decisionlog.Event {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []decisionlog.Event
	for _, line := range strings.Split(strings.TrimSpace(s.lines.String()), "\n") {
		var r decisionlog.Event
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("decision log line %q: %v", line, err)
		}
		out = append(out, r)
	}
	return out
}

// fixedClock is a settable clock for the server.
type fixedClock struct{ ns atomic.Int64 }

func (c *fixedClock) now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fixedClock) set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func (c *fixedClock) add(d time.Duration) { c.ns.Add(int64(d)) }

func cacheBytes(n int64) func(*config.Config, *Deps) {
	return func(cfg *config.Config, _ *Deps) { cfg.Policy.DecisionCacheBytes = &n }
}

// TestDecisionCacheExact sends 10,000 varied requests (1,000 under the race detector, which
// `make test` follows with a full run without it) (principals, actions, resources,
// attributes, risk signals, clock) to a server without the decision cache, then twice with
// it, so the second is answered from the cache: every answer must be the same.
func TestDecisionCacheExact(t *testing.T) {
	clock := &fixedClock{}
	clock.set(time.Date(2026, 12, 7, 6, 59, 58, 0, time.UTC)) // crosses 07:00, the start of business hours
	cached := newFixtureWith(t, true, func(cfg *config.Config, d *Deps) {
		d.Now = clock.now
		cacheBytes(64<<20)(cfg, d)
	})
	cache := cached.srv.decisions
	// uncached answers from the same server and principals with the cache taken away.
	uncached := func(tok, body string) answer {
		cached.srv.decisions = nil
		defer func() { cached.srv.decisions = cache }()
		return decisionOf(t, cached.post(tok, body))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	var tokens []string
	for _, roles := range [][]string{{"viewer"}, {"editor"}, {"admin"}, {"auditor"}, {}} {
		for _, amr := range [][]string{{"pwd"}, {"pwd", "otp"}} {
			for _, tenant := range []string{"acme", "globex"} {
				tokens = append(tokens, cached.token(t, map[string]any{"roles": roles, "amr": amr, "tenant": tenant,
					"auth_time": clock.now().Add(-time.Duration(rng.IntN(20000)) * time.Second).Unix()}))
			}
		}
	}
	n := 10000
	if raceEnabled {
		n = 1000
	}
	allows, hits := 0, 0
	for i := range n {
		if i%500 == 0 {
			clock.add(time.Second)
		}
		body := fmt.Sprintf(`{"action":%q,"resource":{"type":%q,"id":"d%d","properties":{"tenant":%q,"owner":%q,"classification":%q}},`+
			`"context":{"new_device":%v,"ip_reputation":%q,"failed_logins_24h":%d}}`,
			pick("read", "update", "delete", "share", "create", "audit"), pick("document", "project"), rng.IntN(3),
			pick("acme", "globex"), pick("alice", "bob"), pick("public", "internal", "confidential", "restricted"),
			rng.IntN(4) == 0, pick("good", "suspicious", "bad", "good"), rng.IntN(7))
		tok := tokens[rng.IntN(len(tokens))]
		want := uncached(tok, body)
		for round := range 2 {
			before := cache.Stats().Hits
			got := decisionOf(t, cached.post(tok, body))
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("request %d round %d: with the cache %+v\nwithout %+v\nbody %s", i, round, got, want, body)
			}
			if cache.Stats().Hits > before {
				hits++
			}
		}
		if want.Allow {
			allows++
		}
	}
	if hits < n/2 || allows == 0 || allows == n {
		t.Errorf("%d cache hits and %d allows in %d requests: the test did not exercise the cache on both outcomes", hits, allows, n)
	}
}

// answer is a native decision without its per-request id.
type answer struct {
	Allow       bool             `json:"allow"`
	Reasons     []string         `json:"reasons"`
	Obligations []map[string]any `json:"obligations"`
	Risk        map[string]any   `json:"risk"`
	Revision    string           `json:"revision"`
}

func decisionOf(t *testing.T, rec *httptest.ResponseRecorder) answer {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var a answer
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
		t.Fatal(err)
	}
	return a
}

// A reused decision is still a decision of its own: its own id and log record, counted, and
// given only after the token was verified again (a token revoked meanwhile is refused).
func TestDecisionCacheKeepsGuarantees(t *testing.T) {
	sink := &recordSink{}
	var revoked atomic.Bool
	var verifications atomic.Int64
	p := &token.Principal{Kind: "jwt", Issuer: "https://idp.test", Subject: "alice",
		Properties: map[string]any{"roles": []any{"editor"}, "tenant": "acme", "amr": []any{"pwd", "otp"}}}
	f := newFixtureWith(t, true, func(cfg *config.Config, d *Deps) {
		d.DecisionLog = mustDecisionLog(t, sink, config.DecisionLog{Buffer: 100}, d.Logger)
		d.Tokens = verifierFunc(func(context.Context, string) (*token.Principal, error) {
			verifications.Add(1)
			if revoked.Load() {
				return nil, fmt.Errorf("%w: %w", token.ErrInvalidToken, token.ErrRevoked)
			}
			return p, nil
		})
	})
	ids := map[string]bool{}
	for range 3 {
		rec := f.post("t", readInternal)
		var got authorizeResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != 200 || !got.Allow {
			t.Fatalf("status %d, %s", rec.Code, rec.Body)
		}
		ids[got.DecisionID] = true
	}
	if st := f.srv.decisions.Stats(); st.Hits < 1 {
		t.Fatalf("cache stats %+v: the repeated request was not answered from the cache", st)
	}
	revoked.Store(true)
	if rec := f.post("t", readInternal); rec.Code != http.StatusUnauthorized {
		t.Errorf("revoked token: status %d; want 401", rec.Code)
	}
	if verifications.Load() != 4 {
		t.Errorf("%d verifications for 4 requests", verifications.Load())
	}
	if len(ids) != 3 {
		t.Errorf("decision ids %v; want 3 different ones", ids)
	}
	if err := f.srv.deps.DecisionLog.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs := sink.records(t)
	if len(recs) != 3 {
		t.Fatalf("%d decision log records; want one per decision, 3", len(recs))
	}
	// The first decision was evaluated, the others reused: each logs the same input, the
	// policy input as evaluated, with the subject from the verified principal.
	first := mustJSON(recs[0].Input)
	for _, r := range recs {
		result, _ := r.Result.(map[string]any)
		in, _ := r.Input.(map[string]any)
		subject, _ := in["subject"].(map[string]any)
		if !ids[r.DecisionID] || result["allow"] != true || subject["id"] != "alice" || r.Path != "verdict/authz/decision" ||
			r.Verdict.API != "/v1/authorize" || r.Bundles["verdict"].Revision == "" {
			t.Errorf("record %+v does not describe its decision", r)
		}
		if got := mustJSON(r.Input); got != first {
			t.Errorf("reused decision logged input %s; the evaluated one logged %s", got, first)
		}
	}
	if !strings.Contains(first, `"resource":{"id":"d1"`) || !strings.Contains(first, `"roles":["editor"]`) {
		t.Errorf("logged input %s lacks the resource or the mapped properties", first)
	}
	// Replayed, the logged input gets the logged decision (what `verdict replay` does).
	got, _, err := f.eng.Current().Query(context.Background(), "verdict/authz/decision", recs[1].Input)
	if allow, _ := got.(map[string]any)["allow"].(bool); err != nil || !allow {
		t.Errorf("replaying the logged input: %v, %v; want the logged allow", got, err)
	}
}

// mustDecisionLog starts a decision log writing JSON lines to w.
func mustDecisionLog(t testing.TB, w io.Writer, cfg config.DecisionLog, log *slog.Logger) *decisionlog.Logger {
	t.Helper()
	l, err := decisionlog.NewWriter(w, cfg, decisionlog.Deps{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// A decision made under one revision is never given under another.
func TestDecisionCacheRevision(t *testing.T) {
	f := newFixture(t, true)
	tok := f.token(t, nil)
	first := decisionOf(t, f.post(tok, readInternal))
	activateBody(t, f, `decision := {"allow": false, "reasons": ["new policy"]}`)
	got := decisionOf(t, f.post(tok, readInternal))
	if got.Revision == first.Revision || got.Allow || len(got.Reasons) != 1 || got.Reasons[0] != "new policy" {
		t.Errorf("after activation: %+v (before: %+v)", got, first)
	}
	// The first request on the new revision emptied the cache of the old one's decisions.
	if st := f.srv.decisions.Stats(); st.Entries != 1 {
		t.Errorf("cache holds %d decisions after activation; want only the new revision's one", st.Entries)
	}
}

// activateBody activates a one-module bundle whose package verdict.authz is body.
func activateBody(t *testing.T, f *fixture, body string) {
	t.Helper()
	manifest := `{"roots":["verdict"],"revision":"test-` + fmt.Sprint(time.Now().UnixNano()) + `"}`
	b, err := bundle.FromFS(fstest.MapFS{
		".manifest":  {Data: []byte(manifest)},
		"authz.rego": {Data: []byte("package verdict.authz\n\n" + body + "\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.eng.Activate(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}

// A decision is reused across seconds only when the policy does not read the clock.
func TestDecisionCacheClock(t *testing.T) {
	tests := []struct {
		name       string
		policy     string
		nextSecHit bool
	}{
		{name: "policy reads context.time", policy: `decision := {"allow": input.context.time != ""}`},
		{name: "policy calls time.now_ns", policy: `decision := {"allow": time.now_ns() > 0}`},
		{name: "policy ignores the clock", policy: `decision := {"allow": input.action.name == "read"}`, nextSecHit: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fixedClock{}
			clock.set(time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC))
			f := newFixtureWith(t, false, func(_ *config.Config, d *Deps) { d.Now = clock.now })
			activateBody(t, f, tt.policy)
			tok := f.token(t, nil)
			hits := func() uint64 { return f.srv.decisions.Stats().Hits }
			decisionOf(t, f.post(tok, readInternal))
			decisionOf(t, f.post(tok, readInternal))
			if hits() != 1 {
				t.Fatalf("%d hits after a repeat within the second; want 1", hits())
			}
			clock.add(time.Second)
			decisionOf(t, f.post(tok, readInternal))
			if got := hits() == 2; got != tt.nextSecHit {
				t.Errorf("reused in the next second = %v; want %v", got, tt.nextSecHit)
			}
		})
	}
}

// The answer of a reused decision is byte for byte the answer encoded afresh.
func TestNativeAnswerFromCache(t *testing.T) {
	for _, d := range []engine.Decision{
		{Allow: true, Reasons: []string{"rbac: role editor grants read on <document> & more"}, Revision: "sha256:1"},
		{Reasons: []string{}, Obligations: []map[string]any{{"type": "step_up", "max_age": json.Number("300")}},
			Risk: map[string]any{"level": "medium", "score": json.Number("35"), "signals": []any{"new_device"}}, Revision: "r"},
		{},
	} {
		want, err := json.Marshal(nativeResponse("0123abcd", d))
		if err != nil {
			t.Fatal(err)
		}
		o := outcome{decision: d, native: nativeTail(d)}
		if o.native == nil {
			t.Fatalf("no tail for %+v", d)
		}
		if got := nativeAnswer("0123abcd", &o); !bytes.Equal(got, want) {
			t.Errorf("cached answer %s\nwant          %s", got, want)
		}
	}
}

// tracedContext is the context of a request traced as trace 4bf92f35… span 00f067aa….
func tracedContext() context.Context {
	traceID, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	spanID, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	return trace.ContextWithSpanContext(context.Background(),
		trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: spanID, TraceFlags: trace.FlagsSampled}))
}

// TestDecisionLogCarriesTraceAndRequestIDs: a record carries the request id and, when the
// request is traced, the OpenTelemetry trace and span ids.
func TestDecisionLogCarriesTraceAndRequestIDs(t *testing.T) {
	traced := tracedContext()
	tests := []struct {
		name        string
		ctx         context.Context
		trace, span string
	}{
		{name: "traced", ctx: traced, trace: "4bf92f3577b34da6a3ce929d0e0e4736", span: "00f067aa0ba902b7"},
		{name: "not traced", ctx: context.Background()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &recordSink{}
			l := mustDecisionLog(t, sink, config.DecisionLog{Buffer: 4}, slog.New(slog.DiscardHandler))
			logDecision(tt.ctx, l, time.Now(), nil, decisionlog.Record{DecisionID: "d", Time: time.Now()})
			if err := l.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			recs := sink.records(t)
			if len(recs) != 1 || recs[0].TraceID != tt.trace || recs[0].SpanID != tt.span {
				t.Errorf("records %+v; want trace %q span %q", recs, tt.trace, tt.span)
			}
		})
	}
}

// TestRecordCostsNoMoreWithTheLog: the request path's share of the decision log is a record
// handed over, nothing encoded. A decision allocates as much whether the log is off, keeps
// the record or samples it away, and whether the request is traced (its ids are encoded by
// the log's goroutine).
func TestRecordCostsNoMoreWithTheLog(t *testing.T) {
	traced := tracedContext()
	none := 0.0
	tests := []struct {
		name string
		ctx  context.Context
		log  func(t *testing.T) *decisionlog.Logger
	}{
		{"off", context.Background(), func(*testing.T) *decisionlog.Logger { return decisionlog.Discard() }},
		{"off, traced", traced, func(*testing.T) *decisionlog.Logger { return decisionlog.Discard() }},
		{"kept, traced", traced, func(t *testing.T) *decisionlog.Logger {
			return mustDecisionLog(t, io.Discard, config.DecisionLog{Buffer: 1 << 16}, slog.New(slog.DiscardHandler))
		}},
		{"sampled away, traced", traced, func(t *testing.T) *decisionlog.Logger {
			return mustDecisionLog(t, io.Discard, config.DecisionLog{Buffer: 1 << 16, SampleAllowed: &none}, slog.New(slog.DiscardHandler))
		}},
	}
	o := outcomeOf(&engine.Input{Action: engine.Action{Name: "read"}}, engine.Decision{Allow: true, Revision: "r"})
	var base float64
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixtureWith(t, true, func(_ *config.Config, d *Deps) { d.DecisionLog = tt.log(t) })
			allocs := testing.AllocsPerRun(500, func() { f.srv.record(tt.ctx, "/v1/authorize", time.Now(), o, nil) })
			if i == 0 {
				base = allocs
			} else if allocs > base {
				t.Errorf("%v allocations per decision; %v with the log off and no trace", allocs, base)
			}
		})
	}
}

// TestDecisionCacheHoldsInputsOnlyForTheLog: a cached decision keeps its input for the
// decision log's records; with no decision log (sink none) it does not, so the same decision
// costs the cache's byte bound less and the bound holds more decisions.
func TestDecisionCacheHoldsInputsOnlyForTheLog(t *testing.T) {
	p := &token.Principal{Kind: "jwt", Issuer: "https://idp.test", Subject: "alice",
		Properties: map[string]any{"roles": []any{"editor"}, "tenant": "acme", "amr": []any{"pwd", "otp"}}}
	cachedBytes := func(log func(d *Deps) *decisionlog.Logger) int64 {
		f := newFixtureWith(t, true, func(cfg *config.Config, d *Deps) {
			d.DecisionLog = log(d)
			d.Tokens = verifierFunc(func(context.Context, string) (*token.Principal, error) { return p, nil })
		})
		for range 2 {
			if rec := f.post("t", readInternal); rec.Code != http.StatusOK {
				t.Fatalf("status %d, %s", rec.Code, rec.Body)
			}
		}
		st := f.srv.decisions.Stats()
		if st.Hits != 1 {
			t.Fatalf("cache stats %+v: want the repeated request answered from the cache", st)
		}
		return st.Bytes
	}
	kept := cachedBytes(func(d *Deps) *decisionlog.Logger {
		return mustDecisionLog(t, &recordSink{}, config.DecisionLog{Buffer: 100}, d.Logger)
	})
	bare := cachedBytes(func(*Deps) *decisionlog.Logger { return decisionlog.Discard() })
	if bare+1024 > kept {
		t.Errorf("cache bytes %d without a decision log, %d with; want at least a kilobyte less", bare, kept)
	}
}

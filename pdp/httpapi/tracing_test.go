package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/verdict-pdp/verdict/pdp/bundle"
	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/engine"
	"github.com/verdict-pdp/verdict/pdp/token"
	"github.com/verdict-pdp/verdict/pdp/tracing/tracingtest"
)

// spanSpy is a Verifier that remembers the span context its caller's context carries.
type spanSpy struct {
	Verifier
	seen *trace.SpanContext
}

func (s spanSpy) Verify(ctx context.Context, raw string) (*token.Principal, error) {
	*s.seen = trace.SpanContextFromContext(ctx)
	return s.Verifier.Verify(ctx, raw)
}

// TestServerSpan checks the request's server span: under the caller's traceparent, named by the
// route template, with the status, carried by the context the handlers work in, and a
// forward-auth answer that passes it on.
func TestServerSpan(t *testing.T) {
	const (
		callerTrace = "0af7651916cd43dd8448eb211c80319c"
		callerSpan  = "b7ad6b7169203331"
	)
	for _, tc := range []struct {
		name, method, target, route, body string
		headers                           []string
		status                            int
		// verifies: the API verifies the bearer token (the Data API does not, with pep_auth none).
		verifies, traceparent bool
	}{
		{name: "native", method: http.MethodPost, target: "/v1/authorize", route: "/v1/authorize", body: readInternal, status: 200, verifies: true},
		{name: "forward auth passes the span on", method: http.MethodGet, target: forwardAuthPath, route: forwardAuthPath,
			headers: []string{"X-Original-Method", "GET", "X-Original-URI", "/nowhere"}, status: 403, verifies: true, traceparent: true},
		{name: "data API by its template", method: http.MethodPost, target: "/v1/data/verdict/authz/decision",
			route: dataAPIPrefix + "{path:.+}", body: `{"input":{}}`, status: 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp, rec := tracingtest.NewProvider()
			var seen trace.SpanContext
			f := newFixtureWith(t, true, func(_ *config.Config, d *Deps) {
				d.TracerProvider = tp
				d.Tokens = spanSpy{Verifier: d.Tokens, seen: &seen}
			})
			headers := append([]string{"traceparent", "00-" + callerTrace + "-" + callerSpan + "-01",
				"Authorization", "Bearer " + f.token(t, nil)}, tc.headers...)
			resp := send(t, f.srv, tc.method, tc.target, tc.body, headers...)
			if resp.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.Code, tc.status, resp.Body)
			}
			spans := rec.Ended()
			if len(spans) != 1 {
				t.Fatalf("%d spans, want 1", len(spans))
			}
			s := spans[0]
			sc := s.SpanContext()
			if sc.TraceID().String() != callerTrace || s.Parent().SpanID().String() != callerSpan || s.SpanKind() != trace.SpanKindServer {
				t.Errorf("span %s under %s, kind %v: the caller's traceparent is not its parent", sc.TraceID(), s.Parent().SpanID(), s.SpanKind())
			}
			if want := tc.method + " " + tc.route; s.Name() != want {
				t.Errorf("span name %q, want %q", s.Name(), want)
			}
			if got := tracingtest.Attrs(s, "http.route", "http.response.status_code"); got != tc.route+" "+strconv.Itoa(tc.status) {
				t.Errorf("attributes %q", got)
			}
			if tc.verifies && seen.SpanID() != sc.SpanID() {
				t.Errorf("the handler's context carries span %s, not the server span %s", seen.SpanID(), sc.SpanID())
			}
			got := resp.Header().Get("traceparent")
			if tc.traceparent != strings.Contains(got, callerTrace+"-"+sc.SpanID().String()) {
				t.Errorf("traceparent in the answer: %q", got)
			}
		})
	}
}

// BenchmarkAuthorizeTraced is BenchmarkAuthorize's uncached case with tracing on: the server,
// token, revocation and evaluation spans recorded with their attributes, then dropped (no
// exporter), so it measures what the instrumentation itself costs.
func BenchmarkAuthorizeTraced(b *testing.B) {
	tp, _ := tracingtest.NewProvider()
	f := newFixtureWith(b, false, func(cfg *config.Config, d *Deps) {
		cfg.Policy.DecisionCacheBytes = new(int64)
		eng, err := engine.New(cfg.Policy, engine.Deps{TracerProvider: tp})
		if err != nil {
			b.Fatal(err)
		}
		builtin, err := bundle.Builtin()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := eng.Activate(context.Background(), builtin); err != nil {
			b.Fatal(err)
		}
		tokens, err := token.New(cfg.Tokens, token.Deps{TracerProvider: tp})
		if err != nil {
			b.Fatal(err)
		}
		d.Policy, d.Tokens, d.TracerProvider = eng, tokens, tp
	})
	benchPost(b, f)
}

package tracing

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/tracing/tracingtest"
)

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		name    string
		enabled bool
		env     map[string]string
		on      bool
		err     string
	}{
		{name: "off by default", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}},
		{name: "on: otlp over http/protobuf", enabled: true, on: true},
		{name: "on: grpc", enabled: true, on: true, env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}},
		{name: "the traces protocol wins", enabled: true, on: true,
			env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "thrift", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}},
		{name: "exporter none", enabled: true, env: map[string]string{"OTEL_TRACES_EXPORTER": "none"}},
		{name: "unsupported exporter", enabled: true, env: map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"},
			err: `OTEL_TRACES_EXPORTER="zipkin" is not supported`},
		{name: "unsupported protocol", enabled: true, env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
			err: `OTEL_EXPORTER_OTLP_PROTOCOL="http/json" is not supported`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(context.Background(), config.Tracing{Enabled: tc.enabled}, Deps{Getenv: func(k string) string { return tc.env[k] }})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := p.Shutdown(context.Background()); err != nil {
					t.Error(err)
				}
			}()
			if got := NewTracer(p.TracerProvider, "test").Enabled(); got != tc.on {
				t.Errorf("tracer enabled %v, want %v", got, tc.on)
			}
		})
	}
}

// TestTracerOffCostsNothing checks that a Tracer of a nil or no-op provider allocates nothing
// and leaves the context alone.
func TestTracerOffCostsNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		tp   trace.TracerProvider
	}{{name: "nil", tp: nil}, {name: "noop", tp: noop.NewTracerProvider()}} {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewTracer(tc.tp, "test")
			ctx := context.Background()
			allocs := testing.AllocsPerRun(100, func() {
				got, span := tr.Start(ctx, "x", trace.SpanKindInternal)
				if got != ctx || span.IsRecording() {
					t.Fatal("an off tracer changed the context or records")
				}
				span.End()
			})
			if allocs != 0 {
				t.Errorf("%v allocations per span, want 0", allocs)
			}
		})
	}
}

// TestTransport checks an outbound call: a client span under the caller's span, its
// traceparent sent, the query left out of url.full, the caller's request untouched.
func TestTransport(t *testing.T) {
	var sent string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent = r.Header.Get("traceparent")
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer srv.Close()
	tp, rec := tracingtest.NewProvider()
	ctx, parent := tp.Tracer("test").Start(context.Background(), "caller")
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/jwks.json?secret=x", nil)
	resp, err := (&http.Client{Transport: Transport(tp, http.DefaultTransport)}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	parent.End()
	if req.Header.Get("traceparent") != "" {
		t.Error("the caller's request was changed")
	}
	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2", len(spans))
	}
	client := spans[0]
	if client.SpanKind() != trace.SpanKindClient || client.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Errorf("client span: kind %v, parent %v", client.SpanKind(), client.Parent().SpanID())
	}
	if want := "00-" + client.SpanContext().TraceID().String() + "-" + client.SpanContext().SpanID().String() + "-01"; sent != want {
		t.Errorf("traceparent sent %q, want %q", sent, want)
	}
	for _, a := range client.Attributes() {
		if a.Key == "url.full" && strings.Contains(a.Value.AsString(), "secret") {
			t.Errorf("url.full carries the query: %s", a.Value.AsString())
		}
	}
	if client.Status().Description != "502" {
		t.Errorf("status %+v, want an error 502", client.Status())
	}
}

func TestTransportOff(t *testing.T) {
	if Transport(noop.NewTracerProvider(), http.DefaultTransport) != http.DefaultTransport {
		t.Error("with tracing off the transport is wrapped")
	}
}

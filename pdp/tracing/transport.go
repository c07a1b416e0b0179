package tracing

import (
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Transport wraps base so that every outbound call (a key set, discovery, introspection, a
// bundle download) is a client span under the caller's span and carries its traceparent.
// With tracing off it returns base itself.
func Transport(tp trace.TracerProvider, base http.RoundTripper) http.RoundTripper {
	t := NewTracer(tp, "github.com/verdict-pdp/verdict/pdp/outbound")
	if !t.Enabled() {
		return base
	}
	return &transport{tracer: t, base: base}
}

type transport struct {
	tracer Tracer
	base   http.RoundTripper
}

// RoundTrip sends req as a client span. The span ends when the response headers arrive. Its
// url.full leaves out the query and user information, where credentials could be.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, span := t.tracer.Start(req.Context(), req.Method, trace.SpanKindClient)
	defer span.End()
	span.SetAttributes(
		attribute.String("http.request.method", req.Method),
		attribute.String("server.address", req.URL.Hostname()),
		attribute.String("url.full", req.URL.Scheme+"://"+req.URL.Host+req.URL.Path),
	)
	out := req.Clone(ctx) // a RoundTripper must not change the caller's request
	Inject(ctx, out.Header)
	resp, err := t.base.RoundTrip(out)
	if err != nil {
		Fail(span, "request failed")
		return nil, err
	}
	span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
	if resp.StatusCode >= 500 {
		Fail(span, strconv.Itoa(resp.StatusCode))
	}
	return resp, nil
}

// Package tracingtest records the spans a test makes, in the way net/http/httptest records a
// response: a tracer provider to hand to the code under test, and the spans it ended.
package tracingtest

import (
	"strings"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// NewProvider returns a tracer provider that samples every span and the recorder that keeps
// them; Ended lists the spans in the order they ended.
func NewProvider() (*sdktrace.TracerProvider, *tracetest.SpanRecorder) {
	rec := tracetest.NewSpanRecorder()
	return sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)), rec
}

// Attrs is the values of span's attributes keys, space-separated in the order asked, an empty
// field for an attribute the span lacks.
func Attrs(span sdktrace.ReadOnlySpan, keys ...string) string {
	vals := make([]string, len(keys))
	for _, a := range span.Attributes() {
		for i, k := range keys {
			if string(a.Key) == k {
				vals[i] = a.Value.Emit()
			}
		}
	}
	return strings.Join(vals, " ")
}

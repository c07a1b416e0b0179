// Package tracing owns Verdict's OpenTelemetry tracing: it builds the tracer provider from the
// tracing section of the configuration and the standard OTEL_* variables, flushes it at
// shutdown, and gives the instrumented packages a Tracer that costs nothing when tracing is
// off. It sets no OpenTelemetry global: the provider is passed to each component through its
// Deps, and the W3C trace context propagator is used directly.
package tracing

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/verdict-pdp/verdict/pdp/config"
)

// ServiceName is the service.name spans carry unless OTEL_SERVICE_NAME says otherwise.
const ServiceName = "verdict"

// Deps are what New reads besides the configuration.
type Deps struct {
	// Getenv reads the OTEL_* variables that choose the exporter (OTEL_TRACES_EXPORTER,
	// OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, OTEL_EXPORTER_OTLP_PROTOCOL); nil reads none, so the
	// defaults apply. The exporter and the SDK read the rest (endpoint, headers, sampler,
	// batching, resource) from the process environment themselves.
	Getenv func(string) string
	// Version is the service.version spans carry.
	Version string
	// Logger receives the choice made at start.
	Logger *slog.Logger
}

// Provider is the process's tracer provider and what it takes to flush and stop it.
type Provider struct {
	// TracerProvider is what components take in their Deps: a no-op one when tracing is off.
	TracerProvider trace.TracerProvider
	shutdown       func(context.Context) error
}

// Shutdown exports the spans still buffered and stops the exporter, within ctx.
func (p *Provider) Shutdown(ctx context.Context) error { return p.shutdown(ctx) }

// New builds the tracer provider: a no-op one when cfg.Enabled is false or
// OTEL_TRACES_EXPORTER is none, otherwise an SDK provider that batches spans to an OTLP
// exporter over http/protobuf (the default) or grpc.
func New(ctx context.Context, cfg config.Tracing, deps Deps) (*Provider, error) {
	off := &Provider{TracerProvider: noop.NewTracerProvider(), shutdown: func(context.Context) error { return nil }}
	getenv := deps.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if !cfg.Enabled {
		return off, nil
	}
	switch exporter := getenv("OTEL_TRACES_EXPORTER"); exporter {
	case "", "otlp":
	case "none":
		return off, nil
	default:
		return nil, fmt.Errorf("tracing: OTEL_TRACES_EXPORTER=%q is not supported (otlp or none)", exporter)
	}
	protocol := getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	exp, err := newExporter(ctx, protocol)
	if err != nil {
		return nil, err
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", ServiceName), attribute.String("service.version", deps.Version)),
		resource.WithFromEnv()) // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over the defaults above
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	// The sampler is ParentBased(AlwaysSample) unless OTEL_TRACES_SAMPLER says otherwise; the SDK
	// reads it, and OTEL_BSP_* for the batcher.
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	if deps.Logger != nil {
		deps.Logger.Info("tracing enabled", "exporter", "otlp", "protocol", protocolName(protocol))
	}
	return &Provider{TracerProvider: tp, shutdown: tp.Shutdown}, nil
}

func newExporter(ctx context.Context, protocol string) (sdktrace.SpanExporter, error) {
	switch protocol {
	case "", "http/protobuf":
		return otlptracehttp.New(ctx)
	case "grpc":
		return otlptracegrpc.New(ctx)
	default:
		return nil, fmt.Errorf("tracing: OTEL_EXPORTER_OTLP_PROTOCOL=%q is not supported (http/protobuf or grpc)", protocol)
	}
}

func protocolName(p string) string {
	if p == "" {
		return "http/protobuf"
	}
	return p
}

// Tracer starts the spans of one instrumented package. Its zero value, and any Tracer of a nil
// or no-op provider, is off: Start then returns the context unchanged and a span that records
// nothing, without allocating.
type Tracer struct{ t trace.Tracer }

// NewTracer returns the Tracer named name (the instrumentation scope) of tp.
func NewTracer(tp trace.TracerProvider, name string) Tracer {
	if tp == nil {
		return Tracer{}
	}
	if _, off := tp.(noop.TracerProvider); off {
		return Tracer{}
	}
	return Tracer{t: tp.Tracer(name)}
}

// Enabled reports whether t starts spans at all.
func (t Tracer) Enabled() bool { return t.t != nil }

// Start starts a span of kind under the span in ctx and returns it with a context carrying it.
func (t Tracer) Start(ctx context.Context, name string, kind trace.SpanKind) (context.Context, trace.Span) {
	if t.t == nil {
		// The empty context's span is the API's shared non-recording span: nothing allocated.
		return ctx, trace.SpanFromContext(context.Background())
	}
	return t.t.Start(ctx, name, trace.WithSpanKind(kind))
}

// propagator reads and writes the W3C traceparent and tracestate headers.
var propagator = propagation.TraceContext{}

// Extract returns ctx carrying the remote span context of h's traceparent, when it has a
// valid one.
func Extract(ctx context.Context, h http.Header) context.Context {
	return propagator.Extract(ctx, propagation.HeaderCarrier(h))
}

// Inject sets h's traceparent (and tracestate) to the span in ctx, when it carries a valid one.
func Inject(ctx context.Context, h http.Header) {
	propagator.Inject(ctx, propagation.HeaderCarrier(h))
}

// Fail marks span as failed with class, a short fixed word (never an error's text, which
// could hold a claim value or a URL's query).
func Fail(span trace.Span, class string) { span.SetStatus(codes.Error, class) }

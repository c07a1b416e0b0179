package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/verdict-pdp/verdict/pdp/tracing"
)

type requestIDKey struct{}

// maxRequestIDLen bounds an incoming X-Request-ID; a longer or odd one is replaced.
const maxRequestIDLen = 128

// withRequestID echoes a well-formed X-Request-ID or generates one, and puts it in the context.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := requestIDFrom(r.Header)
		w.Header().Set("X-Request-ID", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

// requestIDFrom is the well-formed X-Request-ID of h, or a new id.
func requestIDFrom(h http.Header) string {
	if id := h.Get("X-Request-ID"); validRequestID(id) {
		return id
	}
	return newID()
}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

// newID returns 128 random bits in hex, for request and decision IDs.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// statusRecorder remembers the status a handler wrote, for metrics.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// routeKey carries a *string that the router fills with the matched route's template.
type routeKey struct{}

// withTelemetry counts and times requests by route template, so path parameters do not explode
// the label space, and serves each one as a server span (named by method and route template,
// under the caller's traceparent) when tracing is on. The router sets the template through
// nameRoute, because gorilla/mux only knows the route inside its own dispatch.
func (s *Server) withTelemetry(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		route := "unmatched"
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		ctx, span := s.startServerSpan(r)
		next.ServeHTTP(rec, r.WithContext(context.WithValue(ctx, routeKey{}, &route)))
		endServerSpan(span, r.Method, route, rec.status)
		elapsed := time.Since(start).Seconds()
		s.metrics.requests.WithLabelValues(route, strconv.Itoa(rec.status)).Inc()
		s.metrics.latency.WithLabelValues(route).Observe(elapsed)
		if o, ok := s.metrics.byRoute[route]; ok {
			o.Observe(elapsed)
		}
	})
}

// startServerSpan starts the request's server span under the caller's traceparent; with
// tracing off it returns the request's context as it is.
func (s *Server) startServerSpan(r *http.Request) (context.Context, trace.Span) {
	ctx := r.Context()
	if !s.tracer.Enabled() {
		return s.tracer.Start(ctx, "", trace.SpanKindServer)
	}
	ctx, span := s.tracer.Start(tracing.Extract(ctx, r.Header), r.Method, trace.SpanKindServer)
	span.SetAttributes(attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path),
		attribute.String("verdict.request_id", requestID(ctx)))
	return ctx, span
}

// endServerSpan names span by the route template and records the status, then ends it.
func endServerSpan(span trace.Span, method, route string, status int) {
	if span.IsRecording() {
		span.SetName(method + " " + route)
		span.SetAttributes(attribute.String("http.route", route), attribute.Int("http.response.status_code", status))
		if status >= 500 {
			tracing.Fail(span, strconv.Itoa(status))
		}
	}
	span.End()
}

// nameRoute is router middleware that records the matched route's template for withTelemetry.
func nameRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if route, ok := r.Context().Value(routeKey{}).(*string); ok {
			if cur := mux.CurrentRoute(r); cur != nil {
				if tpl, err := cur.GetPathTemplate(); err == nil {
					*route = tpl
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// withRecovery turns a panic into a logged 500 instead of a dropped connection.
func (s *Server) withRecovery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.writeError(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

package extauthz

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestMetricsObserve(t *testing.T) {
	const health = "/grpc.health.v1.Health/Check"
	tests := []struct {
		name   string
		method string
		err    error
		code   codes.Code
	}{
		{name: "check allowed or refused", method: checkMethod, code: codes.OK},
		{name: "check unavailable", method: checkMethod, err: status.Error(codes.Unavailable, "x"), code: codes.Unavailable},
		{name: "check with a code of grpc-go's own", method: checkMethod, err: status.Error(codes.DeadlineExceeded, "x"),
			code: codes.DeadlineExceeded},
		{name: "another method", method: health, code: codes.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := newMetrics(prometheus.NewRegistry())
			if err != nil {
				t.Fatal(err)
			}
			handler := func(context.Context, any) (any, error) { return nil, tt.err }
			for range 2 {
				if _, err := m.observe(t.Context(), nil, &grpc.UnaryServerInfo{FullMethod: tt.method}, handler); err != tt.err {
					t.Fatalf("observe returned %v, want %v", err, tt.err)
				}
			}
			var c dto.Metric
			if err := m.requests.WithLabelValues(tt.method, tt.code.String()).Write(&c); err != nil || c.GetCounter().GetValue() != 2 {
				t.Errorf("verdict_grpc_requests_total{method=%q,code=%q} = %v (%v), want 2", tt.method, tt.code,
					c.GetCounter().GetValue(), err)
			}
			var h dto.Metric
			if err := m.latency.WithLabelValues(tt.method).(prometheus.Histogram).Write(&h); err != nil ||
				h.GetHistogram().GetSampleCount() != 2 {
				t.Errorf("verdict_grpc_request_duration_seconds{method=%q} has %d samples (%v), want 2", tt.method,
					h.GetHistogram().GetSampleCount(), err)
			}
		})
	}
}

// BenchmarkObserve is the interceptor's own cost on a check.
func BenchmarkObserve(b *testing.B) {
	m, err := newMetrics(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	info := &grpc.UnaryServerInfo{FullMethod: checkMethod}
	handler := func(context.Context, any) (any, error) { return nil, nil }
	b.ReportAllocs()
	for b.Loop() {
		_, _ = m.observe(b.Context(), nil, info, handler)
	}
}

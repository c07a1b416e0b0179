package extauthz

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// metrics counts gRPC calls by method and status code, and times them by method, as
// verdict_http_requests_total and its histogram do for HTTP.
type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	// check holds checkMethod's series, resolved once: a check costs no label lookup.
	check methodSeries
}

// methodSeries are one method's latency and the counters of the codes it usually answers with.
type methodSeries struct {
	latency prometheus.Observer
	codes   map[codes.Code]prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "verdict_grpc_requests_total", Help: "gRPC calls by full method and status code.",
		}, []string{"method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "verdict_grpc_request_duration_seconds", Help: "gRPC call latency by full method.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}, []string{"method"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	m.check = methodSeries{latency: m.latency.WithLabelValues(checkMethod), codes: map[codes.Code]prometheus.Counter{}}
	// The codes a check answers with (errorStatus): their series exist from the start, at zero.
	for _, c := range []codes.Code{codes.OK, codes.Canceled, codes.Unavailable, codes.Internal} {
		m.check.codes[c] = m.requests.WithLabelValues(checkMethod, c.String())
	}
	return m, nil
}

// observe is a unary interceptor that counts and times every call.
func (m *metrics) observe(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	resp, err := handler(ctx, req)
	elapsed := time.Since(start).Seconds()
	code := status.Code(err)
	if info.FullMethod != checkMethod {
		m.latency.WithLabelValues(info.FullMethod).Observe(elapsed)
		m.requests.WithLabelValues(info.FullMethod, code.String()).Inc()
		return resp, err
	}
	m.check.latency.Observe(elapsed)
	if c, ok := m.check.codes[code]; ok {
		c.Inc()
	} else {
		m.requests.WithLabelValues(checkMethod, code.String()).Inc()
	}
	return resp, err
}

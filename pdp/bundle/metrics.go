package bundle

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Reasons a bundle is refused or a poll fails: the reason label of
// verdict_bundle_activation_failures_total and Attempt.Reason in the status.
const (
	ReasonSource       = "source"        // ErrSource: download or file read failed (retried with backoff)
	ReasonTooLarge     = "too_large"     // ErrTooLarge
	ReasonUnsafePath   = "unsafe_path"   // ErrUnsafePath
	ReasonCorrupt      = "corrupt"       // ErrCorruptArchive: not gzip, truncated, bad checksum
	ReasonInvalid      = "invalid"       // ErrInvalidBundle: Rego or JSON errors, roots outside the manifest
	ReasonUnsigned     = "unsigned"      // ErrUnsigned
	ReasonBadSignature = "bad_signature" // ErrBadSignature
	ReasonUnknownKey   = "unknown_key"   // ErrUnknownKey
	ReasonTests        = "tests_failed"  // policy.require_tests: the bundle's own tests fail or are missing
	ReasonActivation   = "activation"    // the engine refused it: compile error, undefined entrypoint
)

func allReasons() []string {
	return []string{
		ReasonSource, ReasonTooLarge, ReasonUnsafePath, ReasonCorrupt, ReasonInvalid, ReasonUnsigned,
		ReasonBadSignature, ReasonUnknownKey, ReasonTests, ReasonActivation,
	}
}

// Poll results: the result label of verdict_bundle_polls_total and Attempt.Result.
const (
	ResultActivated = "activated"
	ResultUnchanged = "unchanged"
	ResultRejected  = "rejected"
	ResultError     = "error"
)

type managerMetrics struct {
	activations    prometheus.Counter
	failures       *prometheus.CounterVec
	polls          *prometheus.CounterVec
	revision       *prometheus.GaugeVec
	lastActivation prometheus.Gauge
	downloadBytes  prometheus.Counter
	duration       prometheus.Histogram
}

// newManagerMetrics creates the manager's metrics and registers them with reg (when not nil).
func newManagerMetrics(reg prometheus.Registerer) (*managerMetrics, error) {
	m := &managerMetrics{
		activations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "verdict_bundle_activations_total", Help: "Bundle revisions activated.",
		}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "verdict_bundle_activation_failures_total",
			Help: "Bundles refused and polls that failed, by reason; the serving revision is unchanged.",
		}, []string{"reason"}),
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "verdict_bundle_polls_total", Help: "Bundle source polls by result: activated, unchanged, rejected or error.",
		}, []string{"result"}),
		revision: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "verdict_bundle_revision_info", Help: "The serving bundle revision (value 1) and where it came from: source, persisted or built-in.",
		}, []string{"revision", "origin"}),
		lastActivation: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "verdict_bundle_last_activation_timestamp_seconds", Help: "When the serving revision was activated (Unix time).",
		}),
		downloadBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "verdict_bundle_download_bytes_total", Help: "Bytes of bundle archives downloaded from an http(s) source.",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "verdict_bundle_activation_duration_seconds",
			Help:    "Time from a fetched archive to a serving snapshot: parse, verify, tests when required, build.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
	}
	for _, r := range allReasons() {
		m.failures.WithLabelValues(r)
	}
	for _, r := range []string{ResultActivated, ResultUnchanged, ResultRejected, ResultError} {
		m.polls.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.activations, m.failures, m.polls, m.revision, m.lastActivation, m.downloadBytes, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

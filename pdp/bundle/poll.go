package bundle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	opabundle "github.com/open-policy-agent/opa/v1/bundle"
)

// maxBackoffFactor caps the retry delay after failed polls at this many poll intervals.
const maxBackoffFactor = 4

// loop polls until ctx ends, waiting delay before the first poll.
func (m *Manager) loop(ctx context.Context, delay time.Duration) {
	defer close(m.done)
	for {
		next := m.now().Add(delay)
		m.mu.Lock()
		m.st.NextPoll = &next
		m.mu.Unlock()
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		delay = m.poll(ctx)
	}
}

// watch reads the source after each change w reports, until ctx ends.
func (m *Manager) watch(ctx context.Context, w *watcher) {
	defer close(m.done)
	w.run(ctx, func() { m.poll(ctx) })
}

// poll fetches from the source once, activates what changed, records the outcome and returns
// how long to wait before the next poll.
func (m *Manager) poll(ctx context.Context) time.Duration {
	start := m.now()
	f, err := m.src.fetch(ctx)
	if ctx.Err() != nil {
		return 0
	}
	var att Attempt
	switch {
	case err != nil:
		att = m.refused(start, "", reasonOf(err), err)
	case f == nil:
		att = m.unchanged(start)
	default:
		att = m.apply(ctx, f, OriginSource, start)
	}
	m.record(att)
	return m.nextDelay(att, start)
}

// apply parses, checks and activates an archive, and persists it when it came from the source.
func (m *Manager) apply(ctx context.Context, f *fetched, origin string, start time.Time) Attempt {
	sum := sha256.Sum256(f.raw)
	digest := hex.EncodeToString(sum[:])
	m.mu.Lock()
	seen := origin == OriginSource && (digest == m.activeDigest || digest == m.lastDigest)
	m.lastDigest = digest
	if origin == OriginSource {
		m.confirmOnUnchanged = false
	}
	m.mu.Unlock()
	if seen {
		return m.unchanged(start)
	}
	b, err := Parse(f.raw, ReadOptions{MaxBytes: m.cfg.MaxBundleBytes, Verifier: m.deps.Verifier})
	if err != nil {
		if errors.Is(err, ErrCorruptArchive) && origin == OriginSource {
			// A truncated or damaged download may be the network's doing: fetch it again next
			// time. The same bytes again are the server's real content and are not counted
			// twice (lastDigest); different bytes are judged afresh.
			m.src.retry()
		}
		return m.refused(start, "", reasonOf(err), err)
	}
	rev := b.Manifest.Revision
	if m.cfg.RequireTests {
		if err := m.runTests(ctx, b); err != nil {
			return m.refused(start, rev, ReasonTests, err)
		}
	}
	if err := m.deps.Activate(ctx, b); err != nil {
		return m.refused(start, rev, ReasonActivation, err)
	}
	att := m.activated(rev, origin, f.etag, digest, start)
	if origin == OriginSource && m.store != nil {
		rec := lastGood{SourceID: m.sourceID, Source: m.src.String(), Revision: rev, ETag: f.etag, ActivatedAt: att.At}
		if err := m.store.save(f.raw, rec); err != nil {
			m.log.Warn("could not persist the activated bundle; a restart while the source is down will not serve it",
				"dir", m.store.dir, "error", err)
		}
	}
	m.log.Info("bundle activated", "revision", rev, "origin", origin, "source", m.srcName(),
		"bytes", len(f.raw), "duration", time.Duration(att.DurationMS*float64(time.Millisecond)))
	return att
}

// runTests is the policy.require_tests gate: the bundle's own tests must exist and pass.
func (m *Manager) runTests(ctx context.Context, b *opabundle.Bundle) error {
	report, err := Test(ctx, b, TestOptions{RequireTests: true, SkipCoverage: true, MaxBytes: m.cfg.MaxBundleBytes,
		AllowBuiltins: m.cfg.AllowBuiltins})
	if err != nil {
		return err
	}
	if err := report.Err(); err != nil {
		if failed := report.FailureSummary(); failed != "" {
			return fmt.Errorf("the bundle's own tests: %w: %s", err, failed)
		}
		return fmt.Errorf("the bundle's own tests: %w", err)
	}
	return nil
}

// activated records a new serving revision in the status and the metrics.
func (m *Manager) activated(rev, origin, etag, digest string, start time.Time) Attempt {
	now := m.now()
	att := Attempt{At: now, Result: ResultActivated, Revision: rev, DurationMS: ms(now.Sub(start))}
	m.mu.Lock()
	if m.st.Revision != "" {
		m.metrics.revision.DeleteLabelValues(m.st.Revision, m.st.Origin)
	}
	m.st.Revision, m.st.Origin, m.st.ETag, m.st.ActivatedAt = rev, origin, etag, &now
	if digest != "" {
		m.activeDigest = digest
	}
	m.st.Activations++
	m.mu.Unlock()
	m.metrics.activations.Inc()
	m.metrics.revision.WithLabelValues(rev, origin).Set(1)
	m.metrics.lastActivation.Set(float64(now.UnixNano()) / 1e9)
	m.metrics.duration.Observe(now.Sub(start).Seconds())
	return att
}

// refused builds the attempt for a failed poll or a refused bundle, and logs it.
func (m *Manager) refused(start time.Time, rev, reason string, err error) Attempt {
	now := m.now()
	result := ResultRejected
	if reason == ReasonSource {
		result = ResultError
	}
	att := Attempt{At: now, Result: result, Revision: rev, Reason: reason, Error: err.Error(), DurationMS: ms(now.Sub(start))}
	m.mu.Lock()
	serving := m.st.Revision
	m.mu.Unlock()
	if result == ResultError {
		m.log.Warn("bundle source unavailable; the serving revision is unchanged", "source", m.srcName(),
			"serving", serving, "error", err)
	} else {
		m.log.Error("bundle refused; the serving revision is unchanged", "source", m.srcName(), "reason", reason,
			"revision", rev, "serving", serving, "error", err)
	}
	return att
}

func (m *Manager) srcName() string {
	if m.src == nil {
		return OriginBuiltin
	}
	return m.src.String()
}

func (m *Manager) unchanged(start time.Time) Attempt {
	now := m.now()
	return Attempt{At: now, Result: ResultUnchanged, DurationMS: ms(now.Sub(start))}
}

// record puts a poll's outcome in the status and the metrics.
func (m *Manager) record(att Attempt) {
	m.metrics.polls.WithLabelValues(att.Result).Inc()
	m.mu.Lock()
	defer m.mu.Unlock()
	at := att.At
	m.st.LastPoll = &at
	if m.src != nil {
		m.st.LongPolling = m.src.longPolling()
	}
	switch att.Result {
	case ResultUnchanged:
		if m.st.Origin == OriginPersisted && (m.confirmOnUnchanged || m.lastDigest == m.activeDigest) {
			// The source offers what the persisted copy holds: it serves from the source now.
			m.metrics.revision.DeleteLabelValues(m.st.Revision, m.st.Origin)
			m.st.Origin = OriginSource
			m.metrics.revision.WithLabelValues(m.st.Revision, m.st.Origin).Set(1)
		}
		if m.st.LastAttempt == nil || m.st.LastAttempt.Result == ResultError {
			m.st.LastAttempt = &att
		}
		return
	case ResultRejected, ResultError:
		m.st.Failures++
		m.st.LastFailure = &att
		m.metrics.failures.WithLabelValues(att.Reason).Inc()
	}
	m.st.LastAttempt = &att
}

// nextDelay is poll_interval, jittered up to 20% earlier so replicas spread out; after a
// failed poll, a backoff from min(1s, poll_interval) doubling up to 4 poll intervals; while
// the server long-polls, no delay at all (the server does the waiting), unless it answered
// at once without a new bundle, which would otherwise spin.
func (m *Manager) nextDelay(att Attempt, start time.Time) time.Duration {
	interval := m.cfg.PollInterval
	if att.Result == ResultError {
		m.retries = min(m.retries+1, 30)
		base := min(time.Second, interval)
		return jitter(min(base<<(m.retries-1), maxBackoffFactor*interval))
	}
	m.retries = 0
	if m.src.longPolling() && (att.Result == ResultActivated || m.now().Sub(start) >= time.Second) {
		return 0
	}
	return jitter(interval)
}

func jitter(d time.Duration) time.Duration {
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// reasonOf maps an error to its Reason constant by the sentinel it wraps.
func reasonOf(err error) string {
	switch {
	case errors.Is(err, ErrSource):
		return ReasonSource
	case errors.Is(err, ErrTooLarge):
		return ReasonTooLarge
	case errors.Is(err, ErrUnsafePath):
		return ReasonUnsafePath
	case errors.Is(err, ErrCorruptArchive):
		return ReasonCorrupt
	case errors.Is(err, ErrUnsigned):
		return ReasonUnsigned
	case errors.Is(err, ErrUnknownKey):
		return ReasonUnknownKey
	case errors.Is(err, ErrBadSignature):
		return ReasonBadSignature
	default:
		return ReasonInvalid
	}
}

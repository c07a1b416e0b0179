package bundle_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/verdict-pdp/verdict/pdp/bundle"
	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/engine"
)

// TestManagerHTTP follows one bundle server through its life: ETags honoured (304 on every
// repeat), a new revision activated on the first poll after it appears, the server failing
// while the last good revision keeps serving, and a restart with the server still down
// serving the persisted revision (and saying so), until the server is back.
func TestManagerHTTP(t *testing.T) {
	srv := newBundleServer(t, policyArchive(t, "r1"))
	dataDir := t.TempDir()
	h := start(t, srv.URL+"/bundles/verdict.tar.gz", managerOpts{dataDir: dataDir})

	if got := h.answer(t); got != "r1" {
		t.Fatalf("first revision = %q, want r1", got)
	}
	st := h.m.Status()
	if st.Origin != bundle.OriginSource || st.ETag == "" || st.ActivatedAt == nil {
		t.Errorf("status after start = %+v", st)
	}

	// ETag: every poll after the first download is a conditional request answered 304.
	h.waitPolls(t, 4)
	if got := srv.count(http.StatusOK); got != 1 {
		t.Errorf("downloads = %d, want 1", got)
	}
	reqs := srv.requests()
	last := reqs[len(reqs)-1]
	if last.code != http.StatusNotModified || last.header.Get("If-None-Match") != st.ETag ||
		!strings.Contains(last.header.Get("Prefer"), "modes=snapshot") {
		t.Errorf("repeat request: code %d, headers %v", last.code, last.header)
	}

	// A new revision serves after the first poll that sees it.
	requestsBefore := len(srv.requests())
	srv.set(policyArchive(t, "r2"))
	took := h.waitRevision(t, "r2")
	// The first poll that sees the change downloads it; only a poll already being answered
	// when the change was made may come before, answered 304.
	after := srv.requests()[requestsBefore:]
	first := slices.IndexFunc(after, func(r served) bool { return r.code == http.StatusOK })
	if first < 0 || first > 1 {
		t.Errorf("the first poll after the change was not the download: %+v", after)
	}
	// The order of requests above is the real check; the time bound only catches a stall
	// (with room for a loaded CI machine).
	if budget := pollInterval + time.Duration(h.m.Status().LastAttempt.DurationMS*float64(time.Millisecond)) + time.Second; took > budget {
		t.Errorf("r2 took %s to serve, over one poll interval plus activation (%s)", took, budget)
	}
	t.Logf("new revision served %s after it appeared (poll interval %s, activation %.1fms)",
		took, pollInterval, h.m.Status().LastAttempt.DurationMS)
	if got := h.answer(t); got != "r2" {
		t.Fatalf("answer after the change = %q, want r2", got)
	}

	// The server goes down: polls fail, r2 keeps answering.
	srv.setDown(true)
	st = h.waitFailures(t, 2)
	if st.LastAttempt.Result != bundle.ResultError || st.LastAttempt.Reason != bundle.ReasonSource {
		t.Errorf("last attempt while down = %+v", st.LastAttempt)
	}
	if got := h.answer(t); got != "r2" {
		t.Fatalf("answer while the server is down = %q, want r2", got)
	}
	h.m.Close()

	// A restart while the server is down serves the persisted r2, and says so.
	h2 := start(t, srv.URL+"/bundles/verdict.tar.gz", managerOpts{dataDir: dataDir})
	if got := h2.answer(t); got != "r2" {
		t.Fatalf("answer after restart = %q, want the persisted r2", got)
	}
	if st := h2.m.Status(); st.Origin != bundle.OriginPersisted {
		t.Errorf("origin after restart = %q, want %q", st.Origin, bundle.OriginPersisted)
	}
	h2.waitFailures(t, 1)
	if got := h2.metric(t, "verdict_bundle_revision_info", map[string]string{"revision": "r2", "origin": bundle.OriginPersisted}); got != 1 {
		t.Errorf("revision info for the persisted r2 = %v, want 1", got)
	}

	// The server is back with r2: a 304 for the persisted ETag confirms it, no download.
	downloads := srv.count(http.StatusOK)
	srv.setDown(false)
	waitFor(t, "origin source", func() bool { return h2.m.Status().Origin == bundle.OriginSource })
	if got := srv.count(http.StatusOK); got != downloads {
		t.Errorf("downloads after the server came back = %d, want %d (the persisted ETag should match)", got, downloads)
	}
	h2.m.Close()

	// A restart with the server gone entirely (connection refused) serves the persisted r2 too.
	srv.Close()
	h3 := start(t, srv.URL+"/bundles/verdict.tar.gz", managerOpts{dataDir: dataDir})
	if got := h3.answer(t); got != "r2" {
		t.Fatalf("answer after restart with the server gone = %q, want r2", got)
	}
}

// TestManagerHTTPMetrics checks the Prometheus series after an activation and a failure.
func TestManagerHTTPMetrics(t *testing.T) {
	raw := policyArchive(t, "r1")
	srv := newBundleServer(t, raw)
	h := start(t, srv.URL, managerOpts{})
	srv.set(rawTarGz(t, "/authz.rego", "package verdict.authz\n\ndecision := {"))
	h.waitFailures(t, 1)
	for _, c := range []struct {
		name   string
		labels map[string]string
		check  func(float64) bool
	}{
		{"verdict_bundle_activations_total", nil, func(v float64) bool { return v == 1 }},
		{"verdict_bundle_activation_failures_total", map[string]string{"reason": bundle.ReasonInvalid}, func(v float64) bool { return v == 1 }},
		{"verdict_bundle_activation_failures_total", map[string]string{"reason": bundle.ReasonBadSignature}, func(v float64) bool { return v == 0 }},
		{"verdict_bundle_revision_info", map[string]string{"revision": "r1", "origin": bundle.OriginSource}, func(v float64) bool { return v == 1 }},
		{"verdict_bundle_last_activation_timestamp_seconds", nil, func(v float64) bool { return v > float64(time.Now().Add(-time.Minute).Unix()) }},
		{"verdict_bundle_download_bytes_total", nil, func(v float64) bool { return v > float64(len(raw)) }},
		{"verdict_bundle_activation_duration_seconds", nil, func(v float64) bool { return v == 1 }},
		{"verdict_bundle_polls_total", map[string]string{"result": bundle.ResultRejected}, func(v float64) bool { return v == 1 }},
	} {
		if got := h.metric(t, c.name, c.labels); !c.check(got) {
			t.Errorf("%s%v = %v", c.name, c.labels, got)
		}
	}
}

// TestManagerHTTPStartsWithNothing: with the server down and nothing persisted, Start
// succeeds with no policy serving, and the first answer from the server activates.
func TestManagerHTTPStartsWithNothing(t *testing.T) {
	srv := newBundleServer(t, policyArchive(t, "r1"))
	srv.setDown(true)
	h := start(t, srv.URL, managerOpts{dataDir: t.TempDir()})
	if h.eng.Current() != nil {
		t.Fatal("a policy serves with the server down and nothing persisted")
	}
	if st := h.m.Status(); st.Revision != "" || st.LastAttempt == nil || st.LastAttempt.Reason != bundle.ReasonSource {
		t.Errorf("status = %+v", st)
	}
	srv.setDown(false)
	h.waitRevision(t, "r1")
}

// TestManagerLongPolling: with long polling the server holds each request, and a new revision
// serves long before the poll interval would have fetched it.
func TestManagerLongPolling(t *testing.T) {
	srv := newBundleServer(t, policyArchive(t, "r1"))
	srv.setLongPoll(true)
	h := start(t, srv.URL, managerOpts{policy: func(p *config.Policy) {
		p.PollInterval = time.Minute
		p.LongPollTimeout = 2 * time.Second
	}})
	waitFor(t, "a held request", func() bool { return len(srv.requests()) >= 1 && h.m.Status().LongPolling })
	time.Sleep(100 * time.Millisecond) // let the next request reach the server and wait there
	srv.set(policyArchive(t, "r2"))
	took := h.waitRevision(t, "r2")
	if took > 2*time.Second {
		t.Errorf("r2 took %s with long polling", took)
	}
	t.Logf("long polling: new revision served %s after it appeared (poll interval 1m)", took)
	reqs := srv.requests()
	if pref := reqs[len(reqs)-1].header.Get("Prefer"); !strings.Contains(pref, "wait=2") {
		t.Errorf("Prefer = %q, want wait=2", pref)
	}
}

// TestManagerLongPollingUnsupported: a server that does not answer with the bundle content type
// is polled at the interval, without asking it to wait.
func TestManagerLongPollingUnsupported(t *testing.T) {
	srv := newBundleServer(t, policyArchive(t, "r1"))
	h := start(t, srv.URL, managerOpts{policy: func(p *config.Policy) { p.LongPollTimeout = 5 * time.Second }})
	h.waitPolls(t, 2)
	reqs := srv.requests()
	if pref := reqs[len(reqs)-1].header.Get("Prefer"); strings.Contains(pref, "wait=") || h.m.Status().LongPolling {
		t.Errorf("Prefer = %q, long polling = %v after the server showed no support", pref, h.m.Status().LongPolling)
	}
}

// TestManagerCredentials: the bearer token goes to the bundle server, and the status shows the
// source without credentials or query.
func TestManagerCredentials(t *testing.T) {
	srv := newBundleServer(t, policyArchive(t, "r1"))
	url := strings.Replace(srv.URL, "http://", "http://user:pass@", 1) + "/b.tar.gz?sig=secret"
	h := start(t, url, managerOpts{policy: func(p *config.Policy) { p.Credentials.BearerToken = "s3cr3t" }})
	if got := srv.requests()[0].header.Get("Authorization"); got != "Bearer s3cr3t" {
		t.Errorf("Authorization = %q", got)
	}
	if src := h.m.Status().Source; strings.Contains(src, "secret") || strings.Contains(src, "pass") || !strings.HasSuffix(src, "/b.tar.gz") {
		t.Errorf("status source = %q", src)
	}
}

// TestManagerBuiltin: with no source the built-in bundle serves and nothing polls.
func TestManagerBuiltin(t *testing.T) {
	h := start(t, "", managerOpts{dataDir: t.TempDir()})
	st := h.m.Status()
	if st.Origin != bundle.OriginBuiltin || st.Source != bundle.OriginBuiltin || !strings.HasPrefix(st.Revision, bundle.RevisionPrefix) {
		t.Errorf("status = %+v", st)
	}
	if st.NextPoll != nil {
		t.Errorf("next poll = %v, want none for the built-in bundle", st.NextPoll)
	}
	if h.eng.Current().Revision() != st.Revision {
		t.Errorf("engine serves %q, status says %q", h.eng.Current().Revision(), st.Revision)
	}
}

// TestManagerDecisionsDuringReloads: decisions made while the manager activates one revision
// after another all succeed and carry a revision the server offered.
func TestManagerDecisionsDuringReloads(t *testing.T) {
	const revisions = 8
	archives := make([][]byte, revisions)
	offered := map[string]bool{}
	for i := range archives {
		rev := "r" + string(rune('a'+i))
		archives[i], offered[rev] = policyArchive(t, rev), true
	}
	srv := newBundleServer(t, archives[0])
	h := start(t, srv.URL, managerOpts{policy: func(p *config.Policy) { p.PollInterval = 10 * time.Millisecond }})

	ctx, cancel := context.WithCancel(context.Background())
	var (
		wg       sync.WaitGroup
		total    atomic.Int64
		failures atomic.Int64
	)
	for range 8 {
		wg.Go(func() {
			for ctx.Err() == nil {
				d, err := h.eng.Decide(context.Background(), &engine.Input{Action: engine.Action{Name: "read"}})
				total.Add(1)
				if err != nil || !d.Allow || !offered[d.Revision] || d.Reasons[0] != d.Revision {
					failures.Add(1)
				}
			}
		})
	}
	for i := 1; i < revisions; i++ {
		srv.set(archives[i])
		h.waitRevision(t, "r"+string(rune('a'+i)))
	}
	cancel()
	wg.Wait()
	if n := failures.Load(); n != 0 || total.Load() == 0 {
		t.Fatalf("%d of %d decisions failed", n, total.Load())
	}
	if got := h.m.Status().Activations; got != revisions {
		t.Errorf("activations = %d, want %d", got, revisions)
	}
}

package decisionlog

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/verdict-pdp/verdict/pdp/config"
)

type lockedBuffer struct {
	mu sync.Mutex
	bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Buffer.Write(p)
}

var discard = slog.New(slog.DiscardHandler)

// events reads the JSON lines written to buf.
func events(t *testing.T, buf *lockedBuffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(&buf.Buffer)
	for sc.Scan() {
		var e map[string]any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	return out
}

func writer(t *testing.T, w *lockedBuffer, cfg config.DecisionLog, deps Deps) *Logger {
	t.Helper()
	if cfg.Buffer == 0 {
		cfg.Buffer = 64
	}
	if deps.Logger == nil {
		deps.Logger = discard
	}
	l, err := NewWriter(w, cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

type input struct {
	Subject map[string]any `json:"subject"`
	Action  map[string]any `json:"action"`
}

// TestEventFormat: an event is OPA's EventV1 with the input, the full result, the bundle
// revision and Verdict's own fields under "verdict".
func TestEventFormat(t *testing.T) {
	var buf lockedBuffer
	l := writer(t, &buf, config.DecisionLog{}, Deps{Version: "1.2.3"})
	l.Log(Record{
		DecisionID: "d1", RequestID: "r1", Span: testSpan(t), Path: "verdict/authz/decision",
		API: "/v1/authorize", Revision: "rev1", Error: "",
		Input:  input{Subject: map[string]any{"id": "alice"}, Action: map[string]any{"name": "read"}},
		Result: map[string]any{"allow": true, "reasons": []string{"ok"}}, Allow: true,
	})
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := events(t, &buf)
	if len(got) != 1 {
		t.Fatalf("%d events", len(got))
	}
	e := got[0]
	labels, _ := e["labels"].(map[string]any)
	want := map[string]string{
		"decision_id": `"d1"`, "path": `"verdict/authz/decision"`, "trace_id": `"4bf92f3577b34da6a3ce929d0e0e4736"`,
		"input":   `{"action":{"name":"read"},"subject":{"id":"alice"}}`,
		"result":  `{"allow":true,"reasons":["ok"]}`,
		"bundles": `{"verdict":{"revision":"rev1"}}`,
		"verdict": `{"api":"/v1/authorize","request_id":"r1"}`,
	}
	for k, v := range want {
		if got := jsonOf(t, e[k]); got != v {
			t.Errorf("%s = %s, want %s", k, got, v)
		}
	}
	if labels["version"] != "1.2.3" || len(labels["id"].(string)) != 26 || e["timestamp"] == nil || e["metrics"] == nil {
		t.Errorf("labels, timestamp or metrics missing: %v", e)
	}
}

// fakePolicy stands for the serving policy's data.system.log rules.
type fakePolicy struct {
	drop    func(event map[string]any) bool
	mask    any
	failErr error
}

func (p *fakePolicy) LogRules() (bool, bool) { return p.drop != nil, p.mask != nil || p.failErr != nil }
func (p *fakePolicy) LogDrop(_ context.Context, e any) (bool, error) {
	return p.drop(e.(map[string]any)), nil
}
func (p *fakePolicy) LogMask(context.Context, any) (any, error) { return p.mask, p.failErr }

// TestPolicyDropAndMask: the policy's drop rule sees the event and drops it; its mask rules and
// the configured ones both apply; a failing rule never lets an unmasked event through.
func TestPolicyDropAndMask(t *testing.T) {
	rec := func(id string) Record {
		return Record{DecisionID: id, Input: map[string]any{"password": "x", "user": id}, Result: map[string]any{"allow": false}}
	}
	tests := []struct {
		name    string
		policy  *fakePolicy
		mask    []string
		ids     []string
		want    []string // input of each event written
		erased  string
		stats   Stats
		noRules bool
	}{
		{name: "drop by policy", ids: []string{"a", "b"}, want: []string{`{"password":"x","user":"b"}`},
			policy: &fakePolicy{drop: func(e map[string]any) bool { return e["decision_id"] == "a" }},
			stats:  Stats{PolicyDropped: 1}},
		{name: "policy mask and configured mask", ids: []string{"a"}, want: []string{`{}`},
			policy: &fakePolicy{mask: []any{"/input/password"}}, mask: []string{"/input/user"},
			erased: `["/input/password","/input/user"]`},
		{name: "configured mask alone", ids: []string{"a"}, want: []string{`{"user":"a"}`},
			mask: []string{"/input/password"}, erased: `["/input/password"]`},
		{name: "failing mask drops the event", ids: []string{"a"},
			policy: &fakePolicy{failErr: errors.New("eval failed")}, stats: Stats{MaskErrors: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf lockedBuffer
			deps := Deps{}
			if tt.policy != nil {
				deps.Policy = func() Policy { return tt.policy }
			}
			l := writer(t, &buf, config.DecisionLog{Mask: tt.mask}, deps)
			for _, id := range tt.ids {
				l.Log(rec(id))
			}
			if err := l.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			got := events(t, &buf)
			if len(got) != len(tt.want) {
				t.Fatalf("%d events, want %d", len(got), len(tt.want))
			}
			for i, e := range got {
				if in := jsonOf(t, e["input"]); in != tt.want[i] {
					t.Errorf("input = %s, want %s", in, tt.want[i])
				}
				if tt.erased != "" && jsonOf(t, e["erased"]) != tt.erased {
					t.Errorf("erased = %s, want %s", jsonOf(t, e["erased"]), tt.erased)
				}
			}
			if st := l.Stats(); st != tt.stats {
				t.Errorf("stats = %+v, want %+v", st, tt.stats)
			}
		})
	}
}

// TestSamplingNeverDropsDenies: with sample_allowed 0 every allow is left out and counted;
// every deny and every error is logged.
func TestSamplingNeverDropsDenies(t *testing.T) {
	tests := []struct {
		name    string
		rate    float64
		allows  int
		sampled uint64
	}{
		{name: "none", rate: 0, allows: 0, sampled: 50},
		{name: "all", rate: 1, allows: 50, sampled: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf lockedBuffer
			l := writer(t, &buf, config.DecisionLog{Buffer: 256, SampleAllowed: &tt.rate}, Deps{})
			for range 50 {
				l.Log(Record{DecisionID: "allow", Allow: true})
				l.Log(Record{DecisionID: "deny"})
				l.Log(Record{DecisionID: "error", Allow: true, Error: "evaluation_failed"})
			}
			if err := l.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			n := map[any]int{}
			for _, e := range events(t, &buf) {
				n[e["decision_id"]]++
			}
			if n["allow"] != tt.allows || n["deny"] != 50 || n["error"] != 50 || l.Stats().Sampled != tt.sampled {
				t.Errorf("logged %v, sampled %d; want %d allows, 50 denies, 50 errors, %d sampled", n, l.Stats().Sampled, tt.allows, tt.sampled)
			}
		})
	}
}

// blockingWriter holds every write until release is closed.
type blockingWriter struct{ release chan struct{} }

func (w blockingWriter) Write(p []byte) (int, error) {
	<-w.release
	return len(p), nil
}

func TestLoggerDropsWhenFull(t *testing.T) {
	w := blockingWriter{release: make(chan struct{})}
	l, err := NewWriter(w, config.DecisionLog{Buffer: 2}, Deps{Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		l.Log(Record{})
	}
	// At most one record is in the writer and two in the queue; the rest were dropped.
	if d := l.Stats().Dropped; d < 7 {
		t.Fatalf("dropped = %d, want at least 7", d)
	}
	close(w.release)
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestLogAfterClose: a handler still running when shutdown gave up on it may log after Close;
// the record is dropped and counted rather than sent on a closed queue (a panic).
func TestLogAfterClose(t *testing.T) {
	var buf lockedBuffer
	l := writer(t, &buf, config.DecisionLog{}, Deps{})
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	l.Log(Record{DecisionID: "late"})
	if d := l.Stats().Dropped; d != 1 {
		t.Errorf("dropped = %d, want 1", d)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestHTTPSinkClosedTwice: a second Close of an http log is a no-op, not a panic.
func TestHTTPSinkClosedTwice(t *testing.T) {
	l, _ := httpLog(t, "http://127.0.0.1:1", 0, 1<<20)
	for range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		_ = l.Close(ctx)
		cancel()
	}
}

// failingWriter refuses every write, as a file on a full disk does.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

// TestWriteErrorsCounted: records the sink refuses are counted apart from the drops of a full
// queue, in Stats and in verdict_decision_log_write_errors_total.
func TestWriteErrorsCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	l, err := NewWriter(failingWriter{}, config.DecisionLog{Buffer: 32}, Deps{Logger: discard, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		l.Log(Record{DecisionID: "d"})
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := l.Stats(); st.WriteErrors != 20 || st.Dropped != 0 {
		t.Errorf("stats = %+v, want 20 write errors and no drops", st)
	}
	if got := counter(t, reg, "verdict_decision_log_write_errors_total"); got != 20 {
		t.Errorf("verdict_decision_log_write_errors_total = %v, want 20", got)
	}
}

// counter reads a counter from reg.
func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestUnencodableRecordCounted: a record whose input cannot be encoded (a nil Once, a channel)
// is counted as a write error, or written without it, and never stops the log.
func TestUnencodableRecordCounted(t *testing.T) {
	var buf lockedBuffer
	l := writer(t, &buf, config.DecisionLog{}, Deps{})
	var none *Once
	l.Log(Record{DecisionID: "nil-once", Input: none})
	l.Log(Record{DecisionID: "chan", Input: make(chan int)})
	l.Log(Record{DecisionID: "ok"})
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := events(t, &buf)
	if len(got) != 2 || got[0]["decision_id"] != "nil-once" || got[0]["input"] != nil || got[1]["decision_id"] != "ok" {
		t.Errorf("events %v; want nil-once without input, then ok", got)
	}
	if st := l.Stats(); st.WriteErrors != 1 {
		t.Errorf("stats %+v; want the channel input counted", st)
	}
}

package decisionlog

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/verdict-pdp/verdict/pdp/config"
)

// TestFileRotationKeepsEveryRecord: the file sink rotates at max_size_mb and every record is in
// the current file or a backup.
func TestFileRotationKeepsEveryRecord(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "decisions.log")
	l, err := New(config.DecisionLog{Sink: "file", Path: path, Buffer: 4096, MaxSizeMB: 1, MaxBackups: 10}, dir, Deps{Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	const n = 3000
	pad := strings.Repeat("x", 1000) // ~1 KiB a record: 3 MB, so at least two rotations
	for i := range n {
		l.Log(Record{DecisionID: "d", Input: map[string]any{"i": i, "pad": pad}})
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "decisions*.log"))
	seen := map[float64]bool{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var e struct{ Input struct{ I float64 } }
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Fatal(err)
			}
			seen[e.Input.I] = true
		}
		_ = fh.Close()
	}
	if st := l.Stats(); len(seen) != n || st.Dropped != 0 || len(files) < 3 {
		t.Errorf("%d records in %d files, %d dropped; want all %d across at least 3 files", len(seen), len(files), st.Dropped, n)
	}
}

// receiver is an OPA-compatible decision-log receiver: it takes POST /logs of a gzipped JSON
// array and answers 503 while down.
type receiver struct {
	down     atomic.Bool
	mu       sync.Mutex
	ids      map[string]int
	bearer   string
	requests atomic.Int64
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.requests.Add(1)
	if rc.down.Load() || r.URL.Path != "/logs" || r.Header.Get("Content-Encoding") != "gzip" ||
		r.Header.Get("Authorization") != "Bearer "+rc.bearer {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	zr, err := gzip.NewReader(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var batch []Event
	if err := json.NewDecoder(zr).Decode(&batch); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	for _, e := range batch {
		rc.ids[e.DecisionID]++
	}
	rc.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) received() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.ids)
}

func httpLog(t *testing.T, url string, spill int64, bufferBytes int) (*Logger, string) {
	t.Helper()
	dir := t.TempDir()
	cfg := config.DecisionLog{Sink: "http", Buffer: 4096, HTTP: &config.DecisionLogHTTP{
		URL: url, BearerToken: "s3cret", BatchBytes: 4 << 10, BufferBytes: bufferBytes, SpillBytes: spill,
		FlushInterval: 20 * time.Millisecond, MinRetryDelay: 10 * time.Millisecond, MaxRetryDelay: 50 * time.Millisecond,
	}}
	cfg.SetDefaults()
	l, err := New(cfg, dir, Deps{Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	return l, dir
}

func logN(l *Logger, from, n int) {
	for i := from; i < from+n; i++ {
		l.Log(Record{DecisionID: "d" + strings.Repeat("0", 3) + itoa(i), Input: map[string]any{"i": i}})
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// TestHTTPSinkSpillsThroughOutage: with a spill, nothing is lost while the receiver is down:
// batches go to disk and are sent, with the rest, once it is back.
func TestHTTPSinkSpillsThroughOutage(t *testing.T) {
	rc := &receiver{ids: map[string]int{}, bearer: "s3cret"}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	l, dir := httpLog(t, srv.URL, 4<<20, 16<<10)
	logN(l, 0, 100)
	waitFor(t, func() bool { return rc.received() == 100 })
	rc.down.Store(true)
	for i := range 10 { // 2000 records, more than the 16 KiB memory buffer holds
		logN(l, 100+200*i, 200)
		time.Sleep(10 * time.Millisecond)
	}
	waitFor(t, func() bool { return l.Stats().Spilled > 0 })
	rc.down.Store(false)
	waitFor(t, func() bool { return rc.received() == 2100 || l.Stats().Dropped > 0 })
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := l.Stats()
	if st.Sent != 2100 || st.Dropped != 0 || st.WriteErrors != 0 || rc.received() != 2100 {
		t.Errorf("stats %+v, received %d; want all 2100 sent", st, rc.received())
	}
	if left, _ := filepath.Glob(filepath.Join(dir, spillDir, "*")); len(left) != 0 {
		t.Errorf("spill still holds %v", left)
	}
}

// TestHTTPSinkBoundedWithoutSpill: without a spill a down receiver fills the memory buffer and
// the rest are dropped; at shutdown what is still pending is counted as lost. Nothing goes
// uncounted.
func TestHTTPSinkBoundedWithoutSpill(t *testing.T) {
	rc := &receiver{ids: map[string]int{}, bearer: "s3cret"}
	rc.down.Store(true)
	srv := httptest.NewServer(rc)
	defer srv.Close()
	l, _ := httpLog(t, srv.URL, 0, 8<<10)
	logN(l, 0, 300)
	waitFor(t, func() bool { return rc.requests.Load() >= 3 }) // retried
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = l.Close(ctx)
	st := l.Stats()
	if st.Dropped == 0 || st.Sent != 0 || st.Dropped+st.WriteErrors != 300 {
		t.Errorf("stats %+v; want every one of 300 dropped or counted lost", st)
	}
}

// TestHTTPSinkRetriesThenDelivers: a receiver failing for a while gets every record once it
// recovers, through the backoff retries, without a spill.
func TestHTTPSinkRetriesThenDelivers(t *testing.T) {
	rc := &receiver{ids: map[string]int{}, bearer: "s3cret"}
	rc.down.Store(true)
	srv := httptest.NewServer(rc)
	defer srv.Close()
	l, _ := httpLog(t, srv.URL, 0, 1<<20)
	logN(l, 0, 50)
	waitFor(t, func() bool { return rc.requests.Load() >= 3 })
	rc.down.Store(false)
	waitFor(t, func() bool { return rc.received() == 50 })
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := l.Stats(); st.Sent != 50 || st.Dropped != 0 {
		t.Errorf("stats %+v; want 50 sent", st)
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		name     string
		failures int
		lo, hi   time.Duration
	}{
		{name: "first", failures: 1, lo: 50 * time.Millisecond, hi: 100 * time.Millisecond},
		{name: "third", failures: 3, lo: 200 * time.Millisecond, hi: 400 * time.Millisecond},
		{name: "capped", failures: 20, lo: 15 * time.Second, hi: 30 * time.Second},
		{name: "no overflow", failures: 80, lo: 15 * time.Second, hi: 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 100 {
				if d := backoff(100*time.Millisecond, 30*time.Second, tt.failures); d < tt.lo || d > tt.hi {
					t.Fatalf("backoff = %s, want within [%s, %s]", d, tt.lo, tt.hi)
				}
			}
		})
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"testing"
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

func TestLoggerWritesEveryQueuedRecord(t *testing.T) {
	var buf lockedBuffer
	l := New(&buf, 16, slog.New(slog.DiscardHandler))
	for _, id := range []string{"a", "b", "c"} {
		l.Log(Record{DecisionID: id, Allow: id == "b"})
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got []Record
	sc := bufio.NewScanner(&buf.Buffer)
	for sc.Scan() {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		got = append(got, r)
	}
	if len(got) != 3 || got[0].DecisionID != "a" || !got[1].Allow || got[2].Allow {
		t.Fatalf("records = %+v", got)
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
	l := New(w, 2, slog.New(slog.DiscardHandler))
	for i := 0; i < 10; i++ {
		l.Log(Record{})
	}
	// At most one record is in the writer and two in the queue; the rest were dropped.
	if d := l.Dropped(); d < 7 {
		t.Fatalf("dropped = %d, want at least 7", d)
	}
	close(w.release)
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestNilWriterDiscards(t *testing.T) {
	l := New(nil, 4, slog.New(slog.DiscardHandler))
	l.Log(Record{DecisionID: "x"})
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestLogAfterClose: a handler still running when shutdown gave up on it may log after Close;
// the record is dropped and counted rather than sent on a closed queue (a panic).
func TestLogAfterClose(t *testing.T) {
	var buf lockedBuffer
	l := New(&buf, 4, slog.New(slog.DiscardHandler))
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	l.Log(Record{DecisionID: "late"})
	if err := l.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if d := l.Dropped(); d != 1 {
		t.Errorf("dropped = %d, want 1", d)
	}
}

// failingWriter refuses every write, as a file on a full disk does.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

// TestWriteErrorsCounted: records the sink refuses are counted, apart from the drops of a full
// queue, so a full disk shows on the metrics instead of only in the process log.
func TestWriteErrorsCounted(t *testing.T) {
	l := New(failingWriter{}, 32, slog.New(slog.DiscardHandler))
	for range 20 {
		l.Log(Record{DecisionID: "d"})
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := l.WriteErrors(); got != 20 {
		t.Errorf("write errors = %d, want 20", got)
	}
	if got := l.Dropped(); got != 0 {
		t.Errorf("dropped = %d, want 0 (the queue never filled)", got)
	}
}

// countingWriter counts writes and holds the first until release is closed.
type countingWriter struct {
	release chan struct{}
	mu      sync.Mutex
	writes  int
	lines   int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	<-w.release
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	w.lines += bytes.Count(p, []byte("\n"))
	return len(p), nil
}

// Records queued while the writer is busy go out together, not one write each.
func TestQueuedRecordsWrittenTogether(t *testing.T) {
	w := &countingWriter{release: make(chan struct{})}
	l := New(w, 128, slog.New(slog.DiscardHandler))
	for range 100 {
		l.Log(Record{DecisionID: "d"})
	}
	close(w.release)
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w.lines != 100 || w.writes > 3 {
		t.Errorf("%d records in %d writes; want all 100 in at most 3", w.lines, w.writes)
	}
}

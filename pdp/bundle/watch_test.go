package bundle

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// testDebounce is longer than WatchDebounce so that a burst written back to back stays one
// burst on a busy machine under -race.
const testDebounce = 250 * time.Millisecond

// watchCounter runs a watcher on path and counts the changes it reports.
type watchCounter struct {
	calls atomic.Int64
}

func startWatch(t *testing.T, path string) *watchCounter {
	t.Helper()
	w, err := newWatcher(path, testDebounce, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("newWatcher() error = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	c := &watchCounter{}
	go func() {
		defer close(done)
		w.run(ctx, func() { c.calls.Add(1) })
	}()
	t.Cleanup(func() { cancel(); <-done })
	return c
}

// settle waits until no change has been reported for three debounce periods, and returns the
// count.
func (c *watchCounter) settle() int64 {
	n := c.calls.Load()
	for {
		time.Sleep(3 * testDebounce)
		m := c.calls.Load()
		if m == n {
			return n
		}
		n = m
	}
}

// saveFile writes body to path, creating its directory, as an editor saves a file.
func saveFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// timed runs write, which writes a few files at once, and skips the test when the machine was
// so busy that the writes were spread over more than half the debounce period: one burst
// might then rightly be reported as two.
func timed(t *testing.T, write func()) {
	t.Helper()
	start := time.Now()
	write()
	if took := time.Since(start); took > testDebounce/2 {
		t.Skipf("writing took %v; the machine is too busy to tell one burst from two", took)
	}
}

func TestWatcherDirectory(t *testing.T) {
	tests := []struct {
		name string
		// steps run in order; the watcher must report want changes after each.
		steps []func(t *testing.T, dir string)
		want  []int64
	}{
		{
			name:  "a saved file is one change",
			steps: []func(*testing.T, string){func(t *testing.T, dir string) { saveFile(t, filepath.Join(dir, "a.rego"), "package a\n") }},
			want:  []int64{1},
		},
		{
			name: "a burst of writes, a rename and a chmod is one change",
			steps: []func(*testing.T, string){func(t *testing.T, dir string) {
				p := filepath.Join(dir, "a.rego")
				for range 5 {
					saveFile(t, p+".tmp", "package a\n\nx := 1\n")
				}
				if err := os.Rename(p+".tmp", p); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(p, 0o644); err != nil {
					t.Fatal(err)
				}
			}},
			want: []int64{1},
		},
		{
			name: "editor temporary files are not changes",
			steps: []func(*testing.T, string){func(t *testing.T, dir string) {
				for _, name := range []string{".a.rego.swp", ".a.rego.swx", ".a.rego.swo", "a.rego~", ".#a.rego", "#a.rego#"} {
					saveFile(t, filepath.Join(dir, name), "x")
					if err := os.Remove(filepath.Join(dir, name)); err != nil {
						t.Fatal(err)
					}
				}
			}},
			want: []int64{0},
		},
		{
			name: "files in a new subdirectory are changes",
			steps: []func(*testing.T, string){
				func(t *testing.T, dir string) {
					if err := os.MkdirAll(filepath.Join(dir, "sub", "deep"), 0o755); err != nil {
						t.Fatal(err)
					}
				},
				func(t *testing.T, dir string) {
					saveFile(t, filepath.Join(dir, "sub", "deep", "b.rego"), "package b\n")
				},
				func(t *testing.T, dir string) {
					saveFile(t, filepath.Join(dir, "sub", "deep", "b.rego"), "package b\n\ny := 2\n")
				},
			},
			want: []int64{1, 2, 3},
		},
		{
			name: "a file in a subdirectory that existed at start is a change",
			steps: []func(*testing.T, string){
				func(t *testing.T, dir string) { saveFile(t, filepath.Join(dir, "old", "c.rego"), "package c\n") },
			},
			want: []int64{1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if err := os.Mkdir(filepath.Join(dir, "old"), 0o755); err != nil {
				t.Fatal(err)
			}
			c := startWatch(t, dir)
			for i, step := range tt.steps {
				timed(t, func() { step(t, dir) })
				if got := c.settle(); got != tt.want[i] {
					t.Fatalf("after step %d: %d changes reported, want %d", i, got, tt.want[i])
				}
			}
		})
	}
}

// TestWatcherFile: for an archive, only the file itself counts, whether written in place or
// replaced by a rename; other files in its directory do not.
func TestWatcherFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "verdict.tar.gz")
	saveFile(t, path, "v1")
	c := startWatch(t, path)

	saveFile(t, filepath.Join(dir, "other.tar.gz"), "x")
	saveFile(t, path+".tmp", "v2")
	if got := c.settle(); got != 0 {
		t.Fatalf("other files: %d changes reported, want 0", got)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
	if got := c.settle(); got != 1 {
		t.Fatalf("after the rename: %d changes reported, want 1", got)
	}
	timed(t, func() { saveFile(t, path, "v3") })
	if got := c.settle(); got != 2 {
		t.Fatalf("after a write in place: %d changes reported, want 2", got)
	}
}

func TestEditorTemp(t *testing.T) {
	tests := []struct {
		name string
		file string
		want bool
	}{
		{name: "vim swap", file: ".authz.rego.swp", want: true},
		{name: "vim second swap", file: ".authz.rego.swo", want: true},
		{name: "vim swx", file: ".authz.rego.swx", want: true},
		{name: "backup", file: "authz.rego~", want: true},
		{name: "emacs lock", file: ".#authz.rego", want: true},
		{name: "emacs auto-save", file: "#authz.rego#", want: true},
		{name: "policy", file: "authz.rego", want: false},
		{name: "manifest", file: ".manifest", want: false},
		{name: "data", file: "data.json", want: false},
		{name: "signatures", file: ".signatures.json", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := editorTemp(tt.file); got != tt.want {
				t.Errorf("editorTemp(%q) = %v, want %v", tt.file, got, tt.want)
			}
		})
	}
}

package bundle

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestFileSourceArchive steps a file source through the states of a file being written,
// without timing: each fetch is one poll.
func TestFileSourceArchive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.tar.gz")
	full := tarGz(t, basicEntries(t))
	write := func(data []byte) {
		t.Helper()
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s := newFileSource(path, testLimit, false)
	steps := []struct {
		name    string
		write   []byte
		wantRaw bool
		wantErr error
	}{
		{name: "missing at start", wantErr: ErrSource},
		{name: "first read", write: full, wantRaw: true},
		{name: "unchanged", wantRaw: false},
		{name: "half written", write: full[:len(full)/2], wantRaw: false},
		{name: "still half written: returned, to be refused", wantRaw: true},
		{name: "same broken file again", wantRaw: false},
		{name: "complete", write: full, wantRaw: true},
		{name: "rewritten over the limit", write: make([]byte, testLimit+1), wantErr: ErrTooLarge},
		{name: "the same oversized file is not read again", wantRaw: false},
	}
	for _, st := range steps {
		if st.write != nil {
			write(st.write)
		}
		f, err := s.fetch(context.Background())
		if !errors.Is(err, st.wantErr) || (err == nil) != (st.wantErr == nil) {
			t.Fatalf("%s: error = %v, want %v", st.name, err, st.wantErr)
		}
		if (f != nil) != st.wantRaw {
			t.Fatalf("%s: fetched = %v, want %v", st.name, f != nil, st.wantRaw)
		}
	}
	s.retry()
	if f, _ := s.fetch(context.Background()); f != nil {
		t.Errorf("fetch after retry returned an oversized file")
	}
}

func TestFileSourceDirectory(t *testing.T) {
	dir := writeDir(t, map[string]string{".manifest": `{"roots": ["example"]}`, "a.rego": "package example.a\n"})
	s := newFileSource(dir, testLimit, false)
	if f, err := s.fetch(context.Background()); err != nil || f == nil {
		t.Fatalf("first fetch = %v, %v", f, err)
	}
	if f, _ := s.fetch(context.Background()); f != nil {
		t.Fatal("unchanged directory fetched again")
	}
	if err := os.WriteFile(filepath.Join(dir, "b.rego"), []byte("package example.b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if f, _ := s.fetch(context.Background()); f != nil {
		t.Fatal("a directory was taken on the first poll that saw it change")
	}
	f, err := s.fetch(context.Background())
	if err != nil || f == nil {
		t.Fatalf("second poll of the changed directory = %v, %v", f, err)
	}
	b, err := Parse(f.raw, ReadOptions{MaxBytes: testLimit})
	if err != nil || len(b.Modules) != 2 {
		t.Fatalf("packed directory: %v, %v", b, err)
	}
}

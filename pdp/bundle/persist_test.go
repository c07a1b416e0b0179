package bundle

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestStore(t *testing.T) {
	s := store{dir: filepath.Join(t.TempDir(), "bundles")}
	id := sourceID("https://bundles.example/verdict.tar.gz")
	if _, _, err := s.load(id, testLimit); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("load() from an empty store: error = %v", err)
	}
	first, second := tarGz(t, basicEntries(t)), signed(t, "rsa", SignOptions{})
	rec := lastGood{SourceID: id, Source: "https://bundles.example/verdict.tar.gz", Revision: "r1", ETag: `"e1"`, ActivatedAt: time.Now()}
	if err := s.save(first, rec); err != nil {
		t.Fatal(err)
	}
	rec.Revision = "r2"
	if err := s.save(second, rec); err != nil {
		t.Fatal(err)
	}
	raw, got, err := s.load(id, testLimit)
	if err != nil {
		t.Fatalf("load() error = %v", err)
	}
	if string(raw) != string(second) || got.Revision != "r2" || got.ETag != `"e1"` {
		t.Errorf("load() = %d bytes, %+v", len(raw), got)
	}
	files, _ := os.ReadDir(s.dir)
	if len(files) != 2 {
		var names []string
		for _, f := range files {
			names = append(names, f.Name())
		}
		t.Errorf("store holds %v, want the record and one archive", names)
	}

	if _, _, err := s.load(sourceID("./other"), testLimit); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("load() for another source: error = %v, want ErrNotExist", err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, got.File), first, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.load(id, testLimit); err == nil {
		t.Error("load() accepted an archive that does not match its digest")
	}
}

package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// lastGoodFile names the record of the last activated bundle in the store directory.
const lastGoodFile = "last.json"

// lastGood records the last bundle that activated from the configured source.
type lastGood struct {
	// SourceID is a digest of the configured policy.bundle, so a bundle persisted for one
	// source is never served for another (and a URL with credentials is not written down).
	SourceID    string    `json:"source_id"`
	Source      string    `json:"source"`
	Revision    string    `json:"revision"`
	ETag        string    `json:"etag,omitempty"`
	SHA256      string    `json:"sha256"`
	File        string    `json:"file"`
	ActivatedAt time.Time `json:"activated_at"`
}

// store keeps the last activated bundle under a directory: the archive named by its digest,
// and last.json pointing to it. Each file is written to a temporary file, synced and renamed
// into place, and last.json only after the archive it names, so a crash at any point leaves
// either the old or the new bundle whole.
type store struct {
	dir string
}

func sourceID(configured string) string {
	sum := sha256.Sum256([]byte(configured))
	return hex.EncodeToString(sum[:])
}

// save persists raw as the last good bundle and removes older archives.
func (s store) save(raw []byte, rec lastGood) error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return err
	}
	sum := sha256.Sum256(raw)
	rec.SHA256 = hex.EncodeToString(sum[:])
	rec.File = rec.SHA256[:16] + ".tar.gz"
	if err := writeAtomic(filepath.Join(s.dir, rec.File), raw); err != nil {
		return err
	}
	meta, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(s.dir, lastGoodFile), meta); err != nil {
		return err
	}
	old, _ := filepath.Glob(filepath.Join(s.dir, "*.tar.gz"))
	for _, p := range old {
		if filepath.Base(p) != rec.File {
			_ = os.Remove(p)
		}
	}
	return nil
}

// load returns the last good bundle persisted for the source with id, or fs.ErrNotExist.
func (s store) load(id string, maxBytes int64) ([]byte, lastGood, error) {
	var rec lastGood
	meta, err := os.ReadFile(filepath.Join(s.dir, lastGoodFile))
	if err != nil {
		return nil, rec, err
	}
	if err := json.Unmarshal(meta, &rec); err != nil {
		return nil, rec, fmt.Errorf("%s: %w", lastGoodFile, err)
	}
	if rec.SourceID != id {
		return nil, rec, fmt.Errorf("persisted bundle came from another source (%s): %w", rec.Source, fs.ErrNotExist)
	}
	if rec.File != filepath.Base(rec.File) || !strings.HasSuffix(rec.File, ".tar.gz") {
		return nil, rec, fmt.Errorf("%s: bad file name %q", lastGoodFile, rec.File)
	}
	raw, err := ReadPath(filepath.Join(s.dir, rec.File), maxBytes)
	if err != nil {
		return nil, rec, err
	}
	sum := sha256.Sum256(raw)
	if hex.EncodeToString(sum[:]) != rec.SHA256 {
		return nil, rec, errors.New("persisted bundle does not match its recorded digest")
	}
	return raw, rec, nil
}

// writeAtomic writes data to path through a synced temporary file in the same directory and a
// rename, then syncs the directory so the rename itself survives a crash.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

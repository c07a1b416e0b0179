package decisionlog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// spillDir is where, under the data directory, the http sink keeps undelivered batches.
const spillDir = "decision-log-spill"

// errSpillFull means the spill holds its bound already.
var errSpillFull = errors.New("decision log spill full")

// spill keeps gzipped batches on disk, a file each, named <unix nanoseconds>-<records>.json.gz
// so the oldest sorts first and its record count is known without reading it. It survives a
// restart: the batches are sent when the receiver is back.
type spill struct {
	dir   string
	limit int64
	mu    sync.Mutex
	bytes int64
	seq   int64
}

func openSpill(dataDir string, limit int64) (*spill, error) {
	s := &spill{dir: filepath.Join(dataDir, spillDir), limit: limit}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("spill: %w", err)
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("spill: %w", err)
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil {
			s.bytes += info.Size()
		}
	}
	return s, nil
}

// add writes one batch of n records, unless the spill would exceed its bound.
func (s *spill) add(body []byte, n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bytes+int64(len(body)) > s.limit {
		return errSpillFull
	}
	// Unique and increasing even when the clock is coarse.
	s.seq = max(s.seq+1, time.Now().UnixNano())
	name := filepath.Join(s.dir, fmt.Sprintf("%020d-%d.json.gz", s.seq, n))
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, body, 0o600); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, name); err != nil {
		return err
	}
	s.bytes += int64(len(body))
	return nil
}

// oldest returns the oldest batch and its record count; ok is false when there is none.
func (s *spill) oldest() (name string, body []byte, n int, ok bool) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return "", nil, 0, false
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json.gz") {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	for _, name := range names {
		stem := strings.TrimSuffix(name, ".json.gz")
		_, count, _ := strings.Cut(stem, "-")
		n, err := strconv.Atoi(count)
		body, rerr := os.ReadFile(filepath.Join(s.dir, name))
		if err == nil && rerr == nil {
			return name, body, n, true
		}
	}
	return "", nil, 0, false
}

// remove deletes a batch once sent.
func (s *spill) remove(name string) {
	path := filepath.Join(s.dir, name)
	info, err := os.Stat(path)
	if err != nil {
		return
	}
	if os.Remove(path) == nil {
		s.mu.Lock()
		s.bytes -= info.Size()
		s.mu.Unlock()
	}
}

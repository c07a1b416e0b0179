package bundle

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrSource means the bundle source could not be read: a download that failed or answered
// other than 200 or 304, or a file or directory that is missing or unreadable. It is the one
// failure the manager treats as transient and retries with backoff.
var ErrSource = errors.New("bundle source unavailable")

// source yields a bundle archive each time it changes.
type source interface {
	// fetch returns the archive when it changed since the last fetch that returned one, nil
	// when it did not. An error that wraps ErrSource is transient; any other refuses content.
	fetch(ctx context.Context) (*fetched, error)
	// retry forgets the last archive fetch returned, so the next fetch returns it again even
	// if it did not change (for content that may have been damaged in transit).
	retry()
	// longPolling reports whether the next fetch will wait at the server for a change.
	longPolling() bool
	// String describes the source for logs and status, without credentials.
	String() string
	// kind is KindDirectory, KindArchive or KindURL: Status.Kind.
	kind() string
}

var (
	_ source = (*fileSource)(nil)
	_ source = (*httpSource)(nil)
)

// fetched is one archive a source returned.
type fetched struct {
	raw  []byte
	etag string
}

// fileSource reads a directory or a .tar.gz file, and notices changes by the size and
// modification time of the file, or of every file under the directory.
type fileSource struct {
	path     string
	maxBytes int64
	// settled is set when fetch is called only once the files have been quiet for a while
	// (policy.watch debounces file notifications), so a changed directory is read at once
	// rather than after a second poll that sees the same files.
	settled bool
	// primed is set after the first fetch, which returns the bundle whatever its state.
	primed bool
	// observed is the stamp seen by the last fetch; delivered the stamp of the archive last
	// returned.
	observed, delivered uint64
}

func newFileSource(path string, maxBytes int64, settled bool) *fileSource {
	return &fileSource{path: path, maxBytes: maxBytes, settled: settled}
}

func (s *fileSource) String() string { return s.path }

// kind stats the path; one that cannot be read yet is taken for a directory unless its name
// says archive.
func (s *fileSource) kind() string {
	if info, err := os.Stat(s.path); err == nil && !info.IsDir() {
		return KindArchive
	}
	if strings.HasSuffix(s.path, ".tar.gz") || strings.HasSuffix(s.path, ".tgz") {
		return KindArchive
	}
	return KindDirectory
}

func (s *fileSource) longPolling() bool { return false }

func (s *fileSource) retry() { s.delivered = 0 }

// fetch returns the bundle once a change is complete. A directory changed since the previous
// poll is left until two polls in a row see the same files, since a copy in progress can be a
// valid but mixed bundle (unless settled: the watcher's quiet period stands for the second
// poll). An archive is taken as soon as it reads as a sound gzipped tar (its
// trailer checksum proves it complete); one that does not is left for the next poll while it
// keeps changing, and returned (to be refused) once it stops.
func (s *fileSource) fetch(context.Context) (*fetched, error) {
	info, stamp, err := s.stamp()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSource, err)
	}
	stable := stamp == s.observed
	s.observed = stamp
	if s.primed && stamp == s.delivered {
		return nil, nil
	}
	if s.primed && info.IsDir() && !stable && !s.settled {
		return nil, nil
	}
	raw, err := ReadPath(s.path, s.maxBytes)
	switch {
	case errors.Is(err, ErrTooLarge):
		s.primed, s.delivered = true, stamp
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrSource, err)
	}
	if s.primed && !stable && !info.IsDir() && checkArchive(raw, s.maxBytes) != nil {
		return nil, nil
	}
	s.primed, s.delivered = true, stamp
	return &fetched{raw: raw}, nil
}

// stamp hashes the size and modification time of the file, or the name, size and modification
// time of every regular file under the directory.
func (s *fileSource) stamp() (fs.FileInfo, uint64, error) {
	info, err := os.Stat(s.path)
	if err != nil {
		return nil, 0, err
	}
	h := fnv.New64a()
	add := func(name string, fi fs.FileInfo) {
		h.Write([]byte(name))
		h.Write([]byte(strconv.FormatInt(fi.Size(), 10)))
		h.Write([]byte(strconv.FormatInt(fi.ModTime().UnixNano(), 10)))
	}
	if !info.IsDir() {
		add("", info)
		return info, h.Sum64() | 1, nil
	}
	err = filepath.WalkDir(s.path, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		add(p, fi)
		return nil
	})
	// |1 keeps a real stamp from ever equalling zero, the "nothing delivered" value.
	return info, h.Sum64() | 1, err
}

package revocation

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Buckets of the file store. Keys are digests; a token value is its record's expiry, a subject
// value its not-before then its expiry, each as big-endian Unix nanoseconds.
var (
	bucketTokens   = []byte("tokens")
	bucketSubjects = []byte("subjects")
)

// fileLockTimeout makes bbolt try its file lock once: any timeout shorter than bbolt's 50 ms
// retry interval gives up after the first refused attempt, so a second process on the same file
// fails at start at once instead of waiting or hanging (a zero timeout would wait forever).
const fileLockTimeout = time.Nanosecond

// fileBackend keeps revocations in a bbolt file. Every write is committed with fsync before it
// is acknowledged; reads are served from bbolt's memory map, so no second in-memory copy has to
// be kept consistent.
type fileBackend struct {
	db   *bolt.DB
	now  func() time.Time
	log  *slog.Logger
	stop chan struct{}
	done sync.WaitGroup
	once sync.Once
}

// openFile opens the bbolt file at cfg.Path, creating it when there is none. An existing file
// is read whole and checked before it is used: a damaged one is refused (ErrDamaged), since an
// empty store in its place would let every token it revoked pass again.
func openFile(cfg Config, now func() time.Time, log *slog.Logger) (*fileBackend, error) {
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o700); err != nil {
		return nil, fmt.Errorf("revocation store: %w", err)
	}
	// bbolt makes a new database of a file with no bytes; here that is a truncated store.
	if st, err := os.Stat(cfg.Path); err == nil && st.Size() == 0 {
		return nil, damaged(cfg.Path, errors.New("the file is empty"))
	}
	db, err := openBolt(cfg.Path)
	if err != nil {
		return nil, err
	}
	f := &fileBackend{db: db, now: now, log: log, stop: make(chan struct{})}
	if err := f.prepare(); err != nil {
		_ = db.Close()
		return nil, damaged(cfg.Path, err)
	}
	if _, err := f.purge(); err != nil {
		log.Warn("revocation store: purge failed", "error", err)
	}
	f.done.Add(1)
	go f.purgeLoop(cfg.PurgeInterval)
	return f, nil
}

// openBolt opens the bbolt file at path. A panic or a memory fault inside bbolt.Open (a
// truncated file whose pages lie past its end) is a damaged file like the errors bbolt reports;
// then the file bbolt left open is closed, releasing its lock.
func openBolt(path string) (*bolt.DB, error) {
	var file *os.File
	opts := &bolt.Options{Timeout: fileLockTimeout, OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, perm)
		file = f
		return f, err
	}}
	var db *bolt.DB
	err := guarded(func() (err error) {
		db, err = bolt.Open(path, 0o600, opts)
		return err
	})
	if err == nil {
		return db, nil
	}
	if file != nil {
		_ = file.Close()
	}
	var pathErr *fs.PathError
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("%w: %s is locked, most likely by another verdict serving the same data_dir; "+
			"stop that one, or give this one its own data_dir (or revocation.path)", ErrInUse, path)
	case errors.As(err, &pathErr):
		return nil, fmt.Errorf("revocation store %s: %w", path, err)
	default:
		return nil, damaged(path, err)
	}
}

// prepare reads every record, runs bbolt's consistency check, then creates the buckets a new
// file lacks. Reading first, in this goroutine, means a page past the end of a truncated file
// faults here, where guarded recovers it, and not in the goroutine of tx.Check.
func (f *fileBackend) prepare() error {
	err := f.view(func(tx *bolt.Tx) error {
		return tx.ForEach(func(_ []byte, b *bolt.Bucket) error {
			return b.ForEach(func(_, _ []byte) error { return nil })
		})
	})
	if err != nil {
		return err
	}
	err = f.view(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() { // drained whole: the check runs in its own goroutine
			errs = append(errs, err)
		}
		if len(errs) > 0 {
			return fmt.Errorf("%d consistency errors, the first: %w", len(errs), errs[0])
		}
		return nil
	})
	if err != nil {
		return err
	}
	return f.update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketTokens, bucketSubjects} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
}

// view and update run a bbolt transaction guarded: a damaged page fails the call, not the
// process.
func (f *fileBackend) view(fn func(*bolt.Tx) error) error {
	return guarded(func() error { return f.db.View(fn) })
}

func (f *fileBackend) update(fn func(*bolt.Tx) error) error {
	return guarded(func() error { return f.db.Update(fn) })
}

// damaged is the error that stops Verdict on a damaged file: what is wrong, and the way out.
func damaged(path string, cause error) error {
	return fmt.Errorf("%w: %s (%v). Verdict will not start on it, since tokens revoked in it would pass again: "+
		"restore it from a backup, or move it aside to start with an empty store and re-apply the revocations still needed",
		ErrDamaged, path, cause)
}

// guarded runs fn, turning a panic, or a memory fault on the mapped file, into an error. bbolt
// panics on a page that contradicts the file's structure, and reading a page past the end of a
// truncated file faults; either must fail the start or the one request, never crash Verdict.
// bbolt rolls back a transaction that panics, so the database stays usable.
func guarded(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("bbolt: %v", r)
		}
	}()
	return fn()
}

func (f *fileBackend) putToken(_ context.Context, r Record, _ time.Time) error {
	key := keyOf(r.Issuer, r.TokenID)
	return f.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTokens)
		until := r.Expires
		if old := b.Get(key[:]); len(old) == 8 {
			until = later(until, unixNano(old))
		}
		return b.Put(key[:], nanos(until))
	})
}

func (f *fileBackend) putSubject(_ context.Context, r Record, _ time.Time) error {
	key := keyOf(r.Issuer, r.Subject)
	return f.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSubjects)
		notBefore, until := r.NotBefore, r.Expires
		if old := b.Get(key[:]); len(old) == 16 {
			notBefore = later(notBefore, unixNano(old[:8]))
			until = later(until, unixNano(old[8:]))
		}
		return b.Put(key[:], append(nanos(notBefore), nanos(until)...))
	})
}

func (f *fileBackend) get(_ context.Context, tokenKey *digest, subjectKey digest, now time.Time) (lookup, error) {
	var found lookup
	err := f.view(func(tx *bolt.Tx) error {
		if tokenKey != nil {
			v := tx.Bucket(bucketTokens).Get(tokenKey[:])
			found.tokenRevoked = len(v) == 8 && now.Before(unixNano(v))
		}
		if v := tx.Bucket(bucketSubjects).Get(subjectKey[:]); len(v) == 16 && now.Before(unixNano(v[8:])) {
			found.notBefore = unixNano(v[:8])
		}
		return nil
	})
	return found, err
}

func (f *fileBackend) purgeLoop(every time.Duration) {
	defer f.done.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-t.C:
			if n, err := f.purge(); err != nil {
				f.log.Warn("revocation store: purge failed", "error", err)
			} else if n > 0 {
				f.log.Debug("revocation store: expired records purged", "count", n)
			}
		}
	}
}

// purge deletes every record whose expiry has passed and returns how many. Reads ignore such
// records anyway; purging only reclaims space.
func (f *fileBackend) purge() (int, error) {
	now := f.now()
	n := 0
	err := f.update(func(tx *bolt.Tx) error {
		for _, bucket := range []struct {
			name []byte
			at   int // offset of the expiry in the value
		}{{bucketTokens, 0}, {bucketSubjects, 8}} {
			b := tx.Bucket(bucket.name)
			var dead [][]byte
			err := b.ForEach(func(k, v []byte) error {
				if len(v) < bucket.at+8 || !now.Before(unixNano(v[bucket.at:bucket.at+8])) {
					dead = append(dead, append([]byte(nil), k...))
				}
				return nil
			})
			if err != nil {
				return err
			}
			for _, k := range dead {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
			n += len(dead)
		}
		return nil
	})
	return n, err
}

func (f *fileBackend) close() error {
	f.once.Do(func() { close(f.stop) })
	f.done.Wait()
	return f.db.Close()
}

func nanos(t time.Time) []byte { return binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano())) }

func unixNano(b []byte) time.Time { return time.Unix(0, int64(binary.BigEndian.Uint64(b))) }

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

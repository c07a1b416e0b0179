package revocation

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Buckets of the file store. Keys are digests; a token value is its record's expiry, a subject
// value its not-before then its expiry, each as big-endian Unix nanoseconds.
var (
	bucketTokens   = []byte("tokens")
	bucketSubjects = []byte("subjects")
)

// fileLockTimeout bounds the wait for bbolt's file lock, so a second process on the same file
// fails at start instead of hanging.
const fileLockTimeout = 2 * time.Second

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

func openFile(cfg Config, now func() time.Time, log *slog.Logger) (*fileBackend, error) {
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o700); err != nil {
		return nil, fmt.Errorf("revocation store: %w", err)
	}
	db, err := bolt.Open(cfg.Path, 0o600, &bolt.Options{Timeout: fileLockTimeout})
	if err != nil {
		return nil, fmt.Errorf("revocation store %s: %w", cfg.Path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketTokens, bucketSubjects} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("revocation store %s: %w", cfg.Path, err)
	}
	f := &fileBackend{db: db, now: now, log: log, stop: make(chan struct{})}
	if _, err := f.purge(); err != nil {
		log.Warn("revocation store: purge failed", "error", err)
	}
	f.done.Add(1)
	go f.purgeLoop(cfg.PurgeInterval)
	return f, nil
}

func (f *fileBackend) putToken(_ context.Context, r Record, _ time.Time) error {
	key := keyOf(r.Issuer, r.TokenID)
	return f.db.Update(func(tx *bolt.Tx) error {
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
	return f.db.Update(func(tx *bolt.Tx) error {
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
	err := f.db.View(func(tx *bolt.Tx) error {
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
	err := f.db.Update(func(tx *bolt.Tx) error {
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

package bundle

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// WatchDebounce is how long a watched bundle must stay quiet after a change before it is read:
// editors and build tools write a file in several steps (a temporary file, a rename, a
// permission change), and one read after the burst sees the finished result.
const WatchDebounce = 100 * time.Millisecond

// watcher reports changes to a bundle directory tree, or to one archive file, from file
// notifications. Directories created under the tree are watched as they appear. Editor
// temporary files (Vim's .swp, Emacs's .#name and name~) are not changes.
type watcher struct {
	fsw  *fsnotify.Watcher
	root string
	// file is the archive's base name when the source is a file (its directory is watched,
	// since editors and build tools replace a file by renaming another onto it); "" for a
	// directory.
	file     string
	debounce time.Duration
	log      *slog.Logger
}

// newWatcher starts watching path, a directory (and every directory under it) or a file.
func newWatcher(path string, debounce time.Duration, log *slog.Logger) (*watcher, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("policy.watch: %w", err)
	}
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("policy.watch: %w", err)
	}
	w := &watcher{fsw: fsw, root: path, debounce: debounce, log: log}
	if info.IsDir() {
		err = w.addTree(path)
	} else {
		w.file = filepath.Base(path)
		err = fsw.Add(filepath.Dir(path))
	}
	if err != nil {
		_ = fsw.Close()
		return nil, fmt.Errorf("policy.watch %s: %w", path, err)
	}
	return w, nil
}

// addTree watches dir and every directory under it.
func (w *watcher) addTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		return w.fsw.Add(p)
	})
}

// close stops the notifications of a watcher that will not run.
func (w *watcher) close() { _ = w.fsw.Close() }

// run calls changed once after each burst of relevant events, when none has arrived for the
// debounce period, until ctx ends; then it closes the watcher. A watcher error (such as a
// queue overflow, which loses events) also calls changed, since something may have changed
// unseen.
func (w *watcher) run(ctx context.Context, changed func()) {
	defer w.close()
	timer := time.NewTimer(w.debounce)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return
			}
			if w.relevant(ev) {
				timer.Reset(w.debounce)
			}
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return
			}
			w.log.Warn("policy watch: file notifications failed; reading the bundle again", "source", w.root, "error", err)
			timer.Reset(w.debounce)
		case <-timer.C:
			changed()
		}
	}
}

// relevant reports whether ev may change the bundle, and watches a directory it creates.
func (w *watcher) relevant(ev fsnotify.Event) bool {
	name := filepath.Base(ev.Name)
	if w.file != "" {
		return name == w.file
	}
	if editorTemp(name) {
		return false
	}
	if ev.Has(fsnotify.Create) {
		if info, err := os.Lstat(ev.Name); err == nil && info.IsDir() {
			// Files may land in the new directory before its watch is in place; the read after
			// the debounce sees them whichever way the race goes.
			if err := w.addTree(ev.Name); err != nil && !errors.Is(err, fs.ErrNotExist) {
				w.log.Warn("policy watch: cannot watch a new directory; changes under it are seen at the next other change",
					"dir", ev.Name, "error", err)
			}
		}
	}
	return true
}

// editorTemp reports whether a file name is an editor's temporary or backup file: Vim's swap
// files (.swp, .swo, .swx), backups ending in ~, and Emacs's lock and auto-save files (.#name,
// #name#).
func editorTemp(name string) bool {
	switch {
	case strings.HasSuffix(name, "~"), strings.HasPrefix(name, ".#"):
		return true
	case strings.HasPrefix(name, "#") && strings.HasSuffix(name, "#"):
		return true
	}
	switch filepath.Ext(name) {
	case ".swp", ".swo", ".swx":
		return true
	}
	return false
}

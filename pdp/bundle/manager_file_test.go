package bundle_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/verdict-pdp/verdict/pdp/bundle"
)

// writeAtomic replaces path as a build tool should: a temporary file renamed into place.
func writeAtomic(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestManagerArchiveFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "verdict.tar.gz")
	writeAtomic(t, path, policyArchive(t, "r1"))
	h := start(t, path, managerOpts{dataDir: t.TempDir()})
	if got := h.answer(t); got != "r1" {
		t.Fatalf("first revision = %q", got)
	}

	writeAtomic(t, path, policyArchive(t, "r2"))
	h.waitRevision(t, "r2")

	// A file written in place may be seen half written: it is left alone while it keeps
	// changing, and served once complete, with no refusal on the way. (TestFileSourceArchive
	// steps through the half-written states poll by poll; here a poll may or may not land
	// between the two writes.)
	r3 := policyArchive(t, "r3")
	if err := os.WriteFile(path, r3[:len(r3)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, r3, 0o600); err != nil {
		t.Fatal(err)
	}
	h.waitRevision(t, "r3")
	if st := h.m.Status(); st.Failures != 0 {
		t.Errorf("failures = %d, last = %+v; a file being written is not a refusal", st.Failures, st.LastFailure)
	}

	// A file that stays truncated is refused, once, and r3 keeps answering.
	if err := os.WriteFile(path, r3[:len(r3)-20], 0o600); err != nil {
		t.Fatal(err)
	}
	st := h.waitFailures(t, 1)
	if st.LastAttempt.Reason != bundle.ReasonCorrupt {
		t.Errorf("last attempt = %+v", st.LastAttempt)
	}
	h.waitPolls(t, 3)
	if got := h.m.Status().Failures; got != 1 {
		t.Errorf("failures = %d after more polls of the same file, want 1", got)
	}
	if got := h.answer(t); got != "r3" {
		t.Fatalf("answer = %q, want r3", got)
	}

	// The file goes away: a transient failure, r3 answers.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	st = h.waitFailures(t, 2)
	if st.LastAttempt.Result != bundle.ResultError || st.LastAttempt.Reason != bundle.ReasonSource {
		t.Errorf("last attempt = %+v", st.LastAttempt)
	}
	if got := h.answer(t); got != "r3" {
		t.Fatalf("answer = %q, want r3", got)
	}
}

func TestManagerDirectory(t *testing.T) {
	dir := writeFiles(t, policyFiles("d1"))
	// Without a manifest revision, the revision is a digest of the files.
	h := start(t, dir, managerOpts{})
	first := h.eng.Current().Revision()
	if !strings.HasPrefix(first, bundle.RevisionPrefix) {
		t.Fatalf("revision = %q, want a digest", first)
	}
	// A directory change is taken once two polls in a row see the same files.
	body := strings.Replace(policyFiles("d1")["authz.rego"], `"d1"`, `"d2"`, 1)
	if err := os.WriteFile(filepath.Join(dir, "authz.rego"), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a new revision", func() bool { return h.eng.Current().Revision() != first })
	if got := h.m.Status().Activations; got != 2 {
		t.Errorf("activations = %d, want 2", got)
	}
	if h.m.Status().Failures != 0 {
		t.Errorf("failures = %d", h.m.Status().Failures)
	}
}

func TestManagerFileStart(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.tar.gz")
	t.Run("missing file and nothing persisted fails", func(t *testing.T) {
		h := newHarness(t, missing, managerOpts{dataDir: t.TempDir()})
		if err := h.m.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "nope.tar.gz") {
			t.Fatalf("Start() error = %v", err)
		}
	})
	t.Run("refused file and nothing persisted fails", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "bad.tar.gz")
		writeAtomic(t, path, []byte("not gzip"))
		h := newHarness(t, path, managerOpts{})
		if err := h.m.Start(context.Background()); err == nil {
			t.Fatal("Start() succeeded")
		}
	})
	t.Run("refused file with a persisted bundle serves it", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "verdict.tar.gz")
		dataDir := t.TempDir()
		writeAtomic(t, path, policyArchive(t, "r1"))
		h := start(t, path, managerOpts{dataDir: dataDir})
		h.m.Close()
		writeAtomic(t, path, []byte("not gzip"))
		h2 := start(t, path, managerOpts{dataDir: dataDir})
		if got := h2.answer(t); got != "r1" {
			t.Fatalf("answer = %q, want the persisted r1", got)
		}
		st := h2.m.Status()
		if st.Origin != bundle.OriginPersisted || st.LastFailure == nil || st.LastFailure.Reason != bundle.ReasonCorrupt {
			t.Errorf("status = %+v, last failure %+v", st, st.LastFailure)
		}
	})
	t.Run("a bundle persisted for another source is not served", func(t *testing.T) {
		dataDir := t.TempDir()
		path := filepath.Join(t.TempDir(), "verdict.tar.gz")
		writeAtomic(t, path, policyArchive(t, "r1"))
		start(t, path, managerOpts{dataDir: dataDir}).m.Close()
		h := newHarness(t, missing, managerOpts{dataDir: dataDir})
		if err := h.m.Start(context.Background()); err == nil {
			t.Fatal("Start() served another source's bundle")
		}
	})
}

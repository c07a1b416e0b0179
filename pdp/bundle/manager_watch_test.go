package bundle_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	opabundle "github.com/open-policy-agent/opa/v1/bundle"

	"github.com/verdict-pdp/verdict/pdp/bundle"
	"github.com/verdict-pdp/verdict/pdp/config"
)

// saveRevision writes the policy files of rev into dir, with authz replacing authz.rego when
// it is not empty, and last the manifest naming rev, so that a read that sees rev sees all of
// its files.
func saveRevision(t *testing.T, dir, rev, authz string) {
	t.Helper()
	files := policyFiles(rev)
	if authz != "" {
		files["authz.rego"] = authz
	}
	files[".manifest"] = fmt.Sprintf(`{"roots": ["verdict"], "revision": %q}`, rev)
	for _, name := range []string{"authz.rego", "authz_test.rego", ".manifest"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(files[name]), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestManagerWatch: with policy.watch a directory's saved change serves without waiting for a
// poll (the poll interval is an hour), and a broken change is refused with its reason while
// the serving revision stays.
func TestManagerWatch(t *testing.T) {
	dir := t.TempDir()
	saveRevision(t, dir, "r1", "")
	h := start(t, dir, managerOpts{policy: func(p *config.Policy) {
		p.Watch, p.RequireTests, p.PollInterval = true, true, time.Hour
	}})
	if st := h.m.Status(); !st.Watching || st.Kind != bundle.KindDirectory || st.NextPoll != nil {
		t.Fatalf("status = %+v, want a watched directory with no next poll", st)
	}
	if got := h.answer(t); got != "r1" {
		t.Fatalf("first revision = %q", got)
	}
	steps := []struct {
		name       string
		rev, authz string
		// wantServing is the revision that must answer afterwards; wantReason, when set, the
		// reason the change was refused.
		wantServing, wantReason string
	}{
		{name: "a saved change serves", rev: "r2", wantServing: "r2"},
		{name: "a syntax error is refused", rev: "r3", authz: "package verdict.authz\n\ndecision := \n",
			wantServing: "r2", wantReason: bundle.ReasonInvalid},
		{name: "a failing test is refused", rev: "r4", authz: "package verdict.authz\n\ndecision := {\"allow\": false}\n",
			wantServing: "r2", wantReason: bundle.ReasonTests},
		{name: "the fix serves", rev: "r5", wantServing: "r5"},
	}
	for _, step := range steps {
		failures := h.m.Status().Failures
		saveRevision(t, dir, step.rev, step.authz)
		if step.wantReason == "" {
			took := h.waitRevision(t, step.wantServing)
			t.Logf("%s: served %s %v after the save", step.name, step.rev, took)
		} else {
			// A read between two of the files written is refused too; wait for this reason.
			waitFor(t, step.name, func() bool {
				st := h.m.Status()
				return st.Failures > failures && st.LastFailure.Reason == step.wantReason
			})
			if st := h.m.Status(); !strings.Contains(st.LastFailure.Error, "authz") {
				t.Errorf("%s: last failure = %+v, want an error naming the file or test", step.name, st.LastFailure)
			}
		}
		if got := h.answer(t); got != step.wantServing {
			t.Errorf("%s: answer = %q, want %q", step.name, got, step.wantServing)
		}
	}
}

// TestManagerWatchRefusesRemote: only a directory or file can be watched.
func TestManagerWatchRefusesRemote(t *testing.T) {
	tests := []struct {
		name   string
		bundle string
	}{
		{name: "built-in", bundle: ""},
		{name: "url", bundle: "https://bundles.example.com/verdict.tar.gz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Policy{Bundle: tt.bundle, Watch: true}
			activate := func(context.Context, *opabundle.Bundle) error { return nil }
			_, err := bundle.NewManager(bundle.ManagerConfig{Policy: cfg}, bundle.ManagerDeps{Activate: activate})
			if err == nil || !strings.Contains(err.Error(), "policy.watch") {
				t.Fatalf("NewManager() error = %v", err)
			}
		})
	}
}

// BenchmarkWatchedSave is one saved change of the repository's policies under policy.watch,
// from the write to the new revision serving: wall time per change (ns/op, which includes
// WatchDebounce and depends on the machine's load) and the process's CPU time per change
// (cpu-ms/op: reading the directory, parsing, compiling, publishing).
func BenchmarkWatchedSave(b *testing.B) {
	dir := b.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("..", "..", "policies"))); err != nil {
		b.Fatal(err)
	}
	h := start(b, dir, managerOpts{policy: func(p *config.Policy) { p.Watch = true }})
	eng := h.eng
	path := filepath.Join(dir, "authz.rego")
	var cpu time.Duration
	i := 0
	for b.Loop() {
		i++
		before, start := eng.Current().Revision(), cpuTime(b)
		f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(f, "# save %d\n", i)
		f.Close()
		for eng.Current().Revision() == before {
			time.Sleep(time.Millisecond)
		}
		cpu += cpuTime(b) - start
	}
	b.ReportMetric(float64(cpu.Milliseconds())/float64(i), "cpu-ms/op")
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

package bundle

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestBuild(t *testing.T) {
	basic := filepath.Join("testdata", "basic")
	tests := []struct {
		name      string
		dirs      func(t *testing.T) []string
		opts      BuildOptions
		wantRoots []string
		wantRev   string
		wantErr   string
	}{
		{
			name:      "manifest roots are kept",
			dirs:      func(*testing.T) []string { return []string{basic} },
			opts:      BuildOptions{Revision: "v1.2.3"},
			wantRoots: []string{"example"},
			wantRev:   "v1.2.3",
		},
		{
			name: "roots derived from packages and data",
			dirs: func(t *testing.T) []string {
				return []string{writeDir(t, map[string]string{
					"a/x.rego":  "package acme.x\n\nallow := true\n",
					"data.json": `{"limits": {"max": 3}}`,
				})}
			},
			wantRoots: []string{"acme", "limits"},
		},
		{
			name:      "roots given",
			dirs:      func(*testing.T) []string { return []string{basic} },
			opts:      BuildOptions{Roots: []string{"example/authz", "example/authz_test", "example/admin_roles"}},
			wantRoots: []string{"example/authz", "example/authz_test", "example/admin_roles"},
		},
		{
			name: "two directories",
			dirs: func(t *testing.T) []string {
				return []string{
					writeDir(t, map[string]string{"a.rego": "package one\n\nx := 1\n"}),
					writeDir(t, map[string]string{"b.rego": "package two\n\ny := 2\n", "data.json": `{"three": 3}`}),
				}
			},
			wantRoots: []string{"one", "three", "two"},
		},
		{
			name:    "roots that leave a package out",
			dirs:    func(*testing.T) []string { return []string{basic} },
			opts:    BuildOptions{Roots: []string{"other"}},
			wantErr: "does not load",
		},
		{
			name: "the same module path in two directories",
			dirs: func(t *testing.T) []string {
				return []string{
					writeDir(t, map[string]string{"a.rego": "package one\n\nx := 1\n"}),
					writeDir(t, map[string]string{"a.rego": "package two\n\ny := 2\n"}),
				}
			},
			wantErr: "in both",
		},
		{name: "no directories", dirs: func(*testing.T) []string { return nil }, wantErr: "no directories"},
		{name: "missing directory", dirs: func(t *testing.T) []string { return []string{filepath.Join(t.TempDir(), "nope")} }, wantErr: "no such file"},
		{
			name: "rego parse error",
			dirs: func(t *testing.T) []string {
				return []string{writeDir(t, map[string]string{"a.rego": "package a\n\nx := {"})}
			},
			wantErr: "a.rego",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			opts.MaxBytes = testLimit
			raw, err := Build(tt.dirs(t), opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Build() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Build() error = %v", err)
			}
			b, err := Parse(raw, ReadOptions{MaxBytes: testLimit})
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			if got := *b.Manifest.Roots; !slices.Equal(got, tt.wantRoots) {
				t.Errorf("roots = %v, want %v", got, tt.wantRoots)
			}
			if tt.wantRev != "" && b.Manifest.Revision != tt.wantRev {
				t.Errorf("revision = %q, want %q", b.Manifest.Revision, tt.wantRev)
			}
			if tt.wantRev == "" && !strings.HasPrefix(b.Manifest.Revision, RevisionPrefix) {
				t.Errorf("revision = %q, want a digest when none is given", b.Manifest.Revision)
			}
		})
	}
}

// TestBuildKeepsSources: modules are written as they are, so line numbers stay right.
func TestBuildKeepsSources(t *testing.T) {
	raw, err := Build([]string{filepath.Join("testdata", "basic")}, BuildOptions{MaxBytes: testLimit})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse(raw, ReadOptions{MaxBytes: testLimit})
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range b.Modules {
		want, err := os.ReadFile(filepath.Join("testdata", "basic", mf.Path))
		if err != nil {
			t.Fatal(err)
		}
		if string(mf.Raw) != string(want) {
			t.Errorf("%s changed in the build", mf.Path)
		}
	}
	if b.Manifest.Revision != Revision(b) || !strings.HasPrefix(b.Manifest.Revision, RevisionPrefix) {
		t.Errorf("revision = %q: without --revision none is written and the digest applies", b.Manifest.Revision)
	}
	again, _ := Build([]string{filepath.Join("testdata", "basic")}, BuildOptions{MaxBytes: testLimit})
	if string(again) != string(raw) {
		t.Error("two builds of the same files differ")
	}
}

func TestBuildSigned(t *testing.T) {
	raw, err := Build([]string{filepath.Join("testdata", "basic")}, BuildOptions{
		MaxBytes: testLimit, Sign: &SignOptions{Key: testKeys()["ed25519"].priv, KeyID: "ci"},
	})
	if err != nil {
		t.Fatal(err)
	}
	v := verifierFor(t, "", "", map[string]string{"ci": "ed25519"})
	if _, err := Parse(raw, ReadOptions{MaxBytes: testLimit, Verifier: v}); err != nil {
		t.Fatalf("Parse() error = %v", err)
	}
	_, err = Build([]string{filepath.Join("testdata", "basic")}, BuildOptions{MaxBytes: testLimit, Sign: &SignOptions{Key: []byte("nope")}})
	if !errors.Is(err, ErrBadKey) {
		t.Errorf("Build() with a bad key: error = %v", err)
	}
}

func TestGitRevision(t *testing.T) {
	if got := GitRevision(context.Background(), t.TempDir()); got != "" {
		t.Errorf("GitRevision() outside a work tree = %q, want empty", got)
	}
}

func TestPack(t *testing.T) {
	dir := writeDir(t, map[string]string{"b.rego": "package b\n", "a/data.json": "{}", ".manifest": "{}"})
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "link.rego")); err != nil {
		t.Fatal(err)
	}
	raw, err := Pack(dir, testLimit)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := scanArchive(raw, testLimit, true)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.name)
	}
	if want := []string{".manifest", "a/data.json", "b.rego"}; !slices.Equal(names, want) {
		t.Errorf("entries = %v, want %v (sorted, no symlink)", names, want)
	}
	again, _ := Pack(dir, testLimit)
	if string(again) != string(raw) {
		t.Error("two packs of the same files differ")
	}
	if _, err := Pack(dir, 3); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Pack() over the limit: error = %v", err)
	}
}

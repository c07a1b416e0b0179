package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// entry is one member of a test archive.
type entry struct {
	name     string
	body     string
	typeflag byte // tar.TypeReg when zero
	link     string
}

// basicEntries are the files of testdata/basic named as `opa build` names them.
func basicEntries(t *testing.T) []entry {
	t.Helper()
	var es []entry
	for _, name := range []string{".manifest", "data.json", "authz.rego", "authz_test.rego"} {
		bs, err := os.ReadFile(filepath.Join("testdata", "basic", name))
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, entry{name: "/" + name, body: string(bs)})
	}
	return es
}

func tarGz(t *testing.T, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Mode: 0o644, Typeflag: e.typeflag, Linkname: e.link}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			hdr = &tar.Header{Name: e.name, Typeflag: e.typeflag, PAXRecords: map[string]string{"comment": e.body}}
		}
		if hdr.Typeflag == 0 {
			hdr.Typeflag = tar.TypeReg
		}
		if hdr.Typeflag == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func archive(entries func(t *testing.T) []entry) func(t *testing.T) string {
	return func(t *testing.T) string {
		return writeFile(t, "bundle.tar.gz", tarGz(t, entries(t)))
	}
}

func withEntry(extra ...entry) func(t *testing.T) []entry {
	return func(t *testing.T) []entry { return append(basicEntries(t), extra...) }
}

func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoad(t *testing.T) {
	const limit = 1 << 20
	tests := []struct {
		name         string
		path         func(t *testing.T) string
		maxBytes     int64
		wantErr      error
		wantErrText  string
		wantModules  int
		wantRevision string // exact; empty means derived ("sha256:...")
	}{
		{
			name:        "directory",
			path:        func(*testing.T) string { return filepath.Join("testdata", "basic") },
			wantModules: 2,
		},
		{
			name:        "archive with opa build names",
			path:        archive(basicEntries),
			wantModules: 2,
		},
		{
			name: "archive with ./ names and directory entries",
			path: archive(func(t *testing.T) []entry {
				es := []entry{{name: "./", typeflag: tar.TypeDir}}
				for _, e := range basicEntries(t) {
					es = append(es, entry{name: "." + e.name, body: e.body})
				}
				return es
			}),
			wantModules: 2,
		},
		{
			name: "manifest revision is kept",
			path: archive(func(t *testing.T) []entry {
				es := basicEntries(t)
				es[0].body = `{"roots": ["example"], "revision": "v1.2.3"}`
				return es
			}),
			wantModules:  2,
			wantRevision: "v1.2.3",
		},
		{
			name:        "pax global header is ignored",
			path:        archive(withEntry(entry{name: "pax_global_header", body: "git", typeflag: tar.TypeXGlobalHeader})),
			wantModules: 2,
		},
		{
			name:    "path traversal",
			path:    archive(withEntry(entry{name: "../x.rego", body: "package example.x\n"})),
			wantErr: ErrUnsafePath,
		},
		{
			name:    "path traversal inside the path",
			path:    archive(withEntry(entry{name: "/example/../../x.rego", body: "package example.x\n"})),
			wantErr: ErrUnsafePath,
		},
		{
			name:    "absolute path with a drive letter",
			path:    archive(withEntry(entry{name: "C:/policies/x.rego", body: "package example.x\n"})),
			wantErr: ErrUnsafePath,
		},
		{
			name:    "absolute network path",
			path:    archive(withEntry(entry{name: "//server/share/x.rego", body: "package example.x\n"})),
			wantErr: ErrUnsafePath,
		},
		{
			name:    "backslash path",
			path:    archive(withEntry(entry{name: `..\x.rego`, body: "package example.x\n"})),
			wantErr: ErrUnsafePath,
		},
		{
			name:    "symlink entry",
			path:    archive(withEntry(entry{name: "/link.rego", typeflag: tar.TypeSymlink, link: "/etc/passwd"})),
			wantErr: ErrUnsafePath,
		},
		{
			name:    "hard link entry",
			path:    archive(withEntry(entry{name: "/link.rego", typeflag: tar.TypeLink, link: "/authz.rego"})),
			wantErr: ErrUnsafePath,
		},
		{
			name:    "duplicate entry",
			path:    archive(withEntry(entry{name: "authz.rego", body: "package example.authz\n"})),
			wantErr: ErrInvalidBundle,
		},
		{
			name: "truncated gzip",
			path: func(t *testing.T) string {
				raw := tarGz(t, basicEntries(t))
				return writeFile(t, "cut.tar.gz", raw[:len(raw)/2])
			},
			wantErr:     ErrCorruptArchive,
			wantErrText: "truncated",
		},
		{
			name: "gzip trailer cut off",
			path: func(t *testing.T) string {
				raw := tarGz(t, basicEntries(t))
				return writeFile(t, "cut.tar.gz", raw[:len(raw)-4])
			},
			wantErr:     ErrCorruptArchive,
			wantErrText: "truncated",
		},
		{
			name: "gzip checksum mismatch",
			path: func(t *testing.T) string {
				raw := tarGz(t, basicEntries(t))
				raw[len(raw)-8] ^= 0xff // first byte of the CRC-32 in the trailer
				return writeFile(t, "bad.tar.gz", raw)
			},
			wantErr: ErrCorruptArchive,
		},
		{
			name: "not gzip",
			path: func(t *testing.T) string {
				return writeFile(t, "policy.rego", []byte("package example.authz\n"))
			},
			wantErr:     ErrCorruptArchive,
			wantErrText: "not a gzip archive",
		},
		{
			name: "empty file",
			path: func(t *testing.T) string {
				return writeFile(t, "empty.tar.gz", nil)
			},
			wantErr: ErrCorruptArchive,
		},
		{
			name: "gzip but not tar",
			path: func(t *testing.T) string {
				var buf bytes.Buffer
				zw := gzip.NewWriter(&buf)
				_, _ = zw.Write(bytes.Repeat([]byte("not a tar header "), 64))
				_ = zw.Close()
				return writeFile(t, "notar.tar.gz", buf.Bytes())
			},
			wantErr: ErrCorruptArchive,
		},
		{
			name:     "archive over the limit",
			path:     archive(basicEntries),
			maxBytes: 64,
			wantErr:  ErrTooLarge,
		},
		{
			name: "archive entry over the limit",
			path: archive(withEntry(entry{
				name: "/example/big/data.json",
				body: `{"pad": "` + strings.Repeat("a", 256<<10) + `"}`,
			})),
			maxBytes: 64 << 10, // the compressed archive is far smaller
			wantErr:  ErrTooLarge,
		},
		{
			name: "archive unpacking over the limit",
			path: archive(func(t *testing.T) []entry {
				es := basicEntries(t)
				for i := range 8 {
					es = append(es, entry{
						name: fmt.Sprintf("/example/pad%d/data.json", i),
						body: `{"pad": "` + strings.Repeat("a", 16<<10) + `"}`,
					})
				}
				return es
			}),
			maxBytes:    64 << 10, // each entry and the compressed archive are smaller
			wantErr:     ErrTooLarge,
			wantErrText: "unpacks",
		},
		{
			name: "directory over the limit",
			path: func(*testing.T) string {
				return filepath.Join("testdata", "basic")
			},
			maxBytes: 100,
			wantErr:  ErrTooLarge,
		},
		{
			name: "rego parse error in a directory",
			path: func(t *testing.T) string {
				return writeDir(t, map[string]string{
					".manifest":  `{"roots": ["example"]}`,
					"authz.rego": "package example.authz\n\nallow if {\n",
				})
			},
			wantErr:     ErrInvalidBundle,
			wantErrText: "authz.rego",
		},
		{
			name:        "rego parse error in an archive",
			path:        archive(withEntry(entry{name: "/broken.rego", body: "package example.broken\nallow if {"})),
			wantErr:     ErrInvalidBundle,
			wantErrText: "broken.rego",
		},
		{
			name: "rego v0 syntax is refused",
			path: func(t *testing.T) string {
				return writeDir(t, map[string]string{"authz.rego": "package example.authz\n\nallow { true }\n"})
			},
			wantErr: ErrInvalidBundle,
		},
		{
			name:    "package outside the manifest roots",
			path:    archive(withEntry(entry{name: "/other.rego", body: "package other\n\nx := 1\n"})),
			wantErr: ErrInvalidBundle,
		},
		{
			name:    "bad data json",
			path:    archive(withEntry(entry{name: "/example/more/data.json", body: `{"a": `})),
			wantErr: ErrInvalidBundle,
		},
		{
			name:    "missing path",
			path:    func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope.tar.gz") },
			wantErr: fs.ErrNotExist,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			maxBytes := tt.maxBytes
			if maxBytes == 0 {
				maxBytes = limit
			}
			b, err := Load(tt.path(t), maxBytes)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Load() error = %v, want %v", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErrText) {
					t.Fatalf("Load() error = %q, want it to mention %q", err, tt.wantErrText)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load() error = %v", err)
			}
			if len(b.Modules) != tt.wantModules {
				t.Errorf("modules = %d, want %d", len(b.Modules), tt.wantModules)
			}
			rev := b.Manifest.Revision
			switch {
			case tt.wantRevision != "" && rev != tt.wantRevision:
				t.Errorf("revision = %q, want %q", rev, tt.wantRevision)
			case tt.wantRevision == "" && (!strings.HasPrefix(rev, RevisionPrefix) || len(rev) != len(RevisionPrefix)+12):
				t.Errorf("revision = %q, want sha256: and 12 hex digits", rev)
			}
			roles, ok := b.Data["example"].(map[string]any)["admin_roles"]
			if !ok || len(roles.([]any)) != 2 {
				t.Errorf("data = %v, want example.admin_roles", b.Data)
			}
		})
	}
}

func TestLoadSizeLimitMustBePositive(t *testing.T) {
	if _, err := Load(filepath.Join("testdata", "basic"), 0); err == nil {
		t.Fatal("Load() with a zero limit succeeded")
	}
	if _, err := ReadArchive(bytes.NewReader(nil), -1); err == nil {
		t.Fatal("ReadArchive() with a negative limit succeeded")
	}
}

func TestReadArchive(t *testing.T) {
	raw := tarGz(t, basicEntries(t))
	b, err := ReadArchive(bytes.NewReader(raw), 1<<20)
	if err != nil {
		t.Fatalf("ReadArchive() error = %v", err)
	}
	if len(b.Modules) != 2 {
		t.Errorf("modules = %d, want 2", len(b.Modules))
	}
	if _, err := ReadArchive(bytes.NewReader(raw), int64(len(raw)-1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("ReadArchive() over the limit error = %v, want ErrTooLarge", err)
	}
}

func TestRevisionIsStable(t *testing.T) {
	load := func(t *testing.T, path string) string {
		t.Helper()
		b, err := Load(path, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		return b.Manifest.Revision
	}
	dir := filepath.Join("testdata", "basic")
	want := load(t, dir)

	tests := []struct {
		name string
		path func(t *testing.T) string
		same bool
	}{
		{name: "directory again", path: func(*testing.T) string { return dir }, same: true},
		{name: "archive", path: archive(basicEntries), same: true},
		{
			name: "archive in another order without leading slashes",
			path: archive(func(t *testing.T) []entry {
				es := basicEntries(t)
				var out []entry
				for i := len(es) - 1; i >= 0; i-- {
					out = append(out, entry{name: strings.TrimPrefix(es[i].name, "/"), body: es[i].body})
				}
				return out
			}),
			same: true,
		},
		{
			name: "data reformatted",
			path: archive(func(t *testing.T) []entry {
				es := basicEntries(t)
				es[1].body = "{\n  \"example\" : {\"admin_roles\":[\"admin\",\"owner\"]}\n}\n"
				return es
			}),
			same: true,
		},
		{
			name: "policy changed",
			path: archive(func(t *testing.T) []entry {
				es := basicEntries(t)
				es[2].body += "\n# a comment is a change\n"
				return es
			}),
		},
		{
			name: "data changed",
			path: archive(func(t *testing.T) []entry {
				es := basicEntries(t)
				es[1].body = `{"example": {"admin_roles": ["admin"]}}`
				return es
			}),
		},
		{
			name: "module renamed",
			path: archive(func(t *testing.T) []entry {
				es := basicEntries(t)
				es[2].name = "/policy.rego"
				return es
			}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := load(t, tt.path(t))
			if (got == want) != tt.same {
				t.Errorf("revision = %q, directory revision = %q, want same = %v", got, want, tt.same)
			}
		})
	}
}

func TestFromFS(t *testing.T) {
	fsys := fstest.MapFS{}
	for _, e := range basicEntries(t) {
		fsys[strings.TrimPrefix(e.name, "/")] = &fstest.MapFile{Data: []byte(e.body)}
	}
	b, err := FromFS(fsys)
	if err != nil {
		t.Fatalf("FromFS() error = %v", err)
	}
	if len(b.Modules) != 2 {
		t.Errorf("modules = %d, want 2", len(b.Modules))
	}
	if got := *b.Manifest.Roots; len(got) != 1 || got[0] != "example" {
		t.Errorf("roots = %v, want [example]", got)
	}
	dir, err := Load(filepath.Join("testdata", "basic"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if b.Manifest.Revision != dir.Manifest.Revision {
		t.Errorf("revision = %q, want the directory's %q", b.Manifest.Revision, dir.Manifest.Revision)
	}
}

func TestBuiltin(t *testing.T) {
	b, err := Builtin()
	if err != nil {
		t.Fatalf("Builtin() error = %v", err)
	}
	if got := *b.Manifest.Roots; len(got) != 1 || got[0] != "verdict" {
		t.Errorf("roots = %v, want [verdict]", got)
	}
	var tests, policies int
	for _, mf := range b.Modules {
		if strings.HasSuffix(mf.Path, "_test.rego") {
			tests++
		} else {
			policies++
		}
	}
	if tests == 0 || policies == 0 {
		t.Errorf("modules: %d policies, %d tests; want both", policies, tests)
	}
	if !strings.HasPrefix(b.Manifest.Revision, RevisionPrefix) {
		t.Errorf("revision = %q, want a derived one", b.Manifest.Revision)
	}
	again, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if again.Manifest.Revision != b.Manifest.Revision {
		t.Errorf("revision changed between reads: %q, %q", b.Manifest.Revision, again.Manifest.Revision)
	}
	dir, err := Load(filepath.Join("..", "..", "policies"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	// The directory holds embed.go too, which is not part of the bundle, so only the module
	// sets are compared.
	if len(dir.Modules) != len(b.Modules) {
		t.Errorf("directory has %d modules, built-in %d", len(dir.Modules), len(b.Modules))
	}
}

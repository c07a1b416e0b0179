package bundle

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		opts    CheckOptions
		wantErr []string
	}{
		{
			name:  "clean policy",
			files: map[string]string{"p.rego": "package p\n\nallow if input.x == 1\n"},
			opts:  CheckOptions{Strict: true},
		},
		{
			name:  "unused variable passes without strict",
			files: map[string]string{"p.rego": "package p\n\nallow if {\n\tx := 1\n\tinput.y == 2\n}\n"},
		},
		{
			name:    "unused variable with strict",
			files:   map[string]string{"p.rego": "package p\n\nallow if {\n\tx := 1\n\tinput.y == 2\n}\n"},
			opts:    CheckOptions{Strict: true},
			wantErr: []string{"p.rego:4: rego_compile_error: assigned var x unused"},
		},
		{
			name:    "unused import with strict",
			files:   map[string]string{"p.rego": "package p\n\nimport data.q\n\nallow if input.y == 2\n"},
			opts:    CheckOptions{Strict: true},
			wantErr: []string{"p.rego:3: rego_compile_error: import data.q unused"},
		},
		{
			name:    "type error across files",
			files:   map[string]string{"a/p.rego": "package p\n\nn := 1\n", "b/q.rego": "package q\n\nbad if data.p.n == \"one\"\n"},
			wantErr: []string{"q.rego:3: rego_type_error"},
		},
		{
			name:    "parse error",
			files:   map[string]string{"p.rego": "package p\n\nallow if {\n"},
			wantErr: []string{"p.rego:4: rego_parse_error"},
		},
		{
			name:    "denied builtin",
			files:   map[string]string{"p.rego": "package p\n\nr := http.send({\"method\": \"GET\", \"url\": \"http://x\"})\n"},
			wantErr: []string{"p.rego:3: http.send"},
		},
		{
			name:  "allowed builtin",
			files: map[string]string{"p.rego": "package p\n\nr := http.send({\"method\": \"GET\", \"url\": \"http://x\"})\n"},
			opts:  CheckOptions{AllowBuiltins: []string{"http.send"}},
		},
		{
			name:    "no rego files",
			files:   map[string]string{"data.json": "{}"},
			wantErr: []string{"no .rego files"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check([]string{writeDir(t, tt.files)}, tt.opts)
			if (err != nil) != (len(tt.wantErr) > 0) {
				t.Fatalf("Check() = %v, want errors %q", err, tt.wantErr)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Check() = %v, want %q", err, want)
				}
			}
		})
	}
}

func TestRegoFiles(t *testing.T) {
	dir := writeDir(t, map[string]string{"b.rego": "", "a/c.rego": "", "a/data.json": "", "notes.txt": ""})
	single := filepath.Join(dir, "b.rego")
	tests := []struct {
		name    string
		paths   []string
		want    []string
		wantErr bool
	}{
		{name: "directory", paths: []string{dir}, want: []string{filepath.Join(dir, "a", "c.rego"), single}},
		{name: "file", paths: []string{single}, want: []string{single}},
		{name: "file and its directory", paths: []string{single, dir}, want: []string{filepath.Join(dir, "a", "c.rego"), single}},
		{name: "missing", paths: []string{filepath.Join(dir, "nope.rego")}, wantErr: true},
		{name: "nothing", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RegoFiles(tt.paths)
			if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
				t.Fatalf("RegoFiles() = %q, %v, want %q", got, err, tt.want)
			}
		})
	}
}

func TestFormatAndDiff(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		want     string
		wantDiff string
	}{
		{
			name: "formatted",
			src:  "package p\n\nallow if input.x == 1\n",
			want: "package p\n\nallow if input.x == 1\n",
		},
		{
			name:     "spacing and layout",
			src:      "package p\nallow   if {input.x==1}\n",
			want:     "package p\n\nallow if input.x == 1\n",
			wantDiff: "--- p.rego\n+++ p.rego\n@@ -1,2 +1,3 @@\n package p\n-allow   if {input.x==1}\n+\n+allow if input.x == 1\n",
		},
		{
			name: "changes far apart make two hunks",
			src:  "package p\n\na :=   1\n\nb := 2\n\nc := 3\n\nd := 4\n\ne := 5\n\nf :=   6\n",
			want: "package p\n\na := 1\n\nb := 2\n\nc := 3\n\nd := 4\n\ne := 5\n\nf := 6\n",
			wantDiff: "--- p.rego\n+++ p.rego\n" +
				"@@ -1,6 +1,6 @@\n package p\n \n-a :=   1\n+a := 1\n \n b := 2\n \n" +
				"@@ -10,4 +10,4 @@\n \n e := 5\n \n-f :=   6\n+f := 6\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Format("p.rego", []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("Format() = %q, want %q", got, tt.want)
			}
			if diff := Diff("p.rego", []byte(tt.src), got); diff != tt.wantDiff {
				t.Errorf("Diff() = %q, want %q", diff, tt.wantDiff)
			}
		})
	}
	if _, err := Format("p.rego", []byte("package p\n\nallow if {\n")); err == nil {
		t.Error("Format() of a module that does not parse succeeded")
	}
}

package tests

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// regoFiles are a small policy with a passing test file and a failing one.
var regoFiles = map[string]string{
	"authz.rego": "package example.authz\n\ndefault allow := false\n\nallow if input.subject.role in data.example.admin_roles\n\n" +
		"allow if {\n\tinput.action == \"read\"\n\tinput.subject.role == \"viewer\"\n}\n",
	"data.json": `{"example": {"admin_roles": ["admin"]}}`,
	"pass_test.rego": "package example.pass_test\n\nimport data.example.authz\n\n" +
		"test_admin_allowed if authz.allow with input as {\"subject\": {\"role\": \"admin\"}, \"action\": \"delete\"}\n",
	"fail_test.rego": "package example.fail_test\n\nimport data.example.authz\n\n" +
		"test_viewer_deletes if {\n\trole := \"viewer\"\n\tauthz.allow with input as {\"subject\": {\"role\": role}, \"action\": \"delete\"}\n}\n",
}

// writeRego writes files into a new directory and returns it.
func writeRego(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// verdictStdout runs the binary in dir and returns its standard output alone, failing the
// test unless it exits non-zero exactly when wantFail.
func verdictStdout(t *testing.T, dir string, wantFail bool, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(verdictBin(t), args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, &stdout, &stderr
	if err := cmd.Run(); (err != nil) != wantFail {
		t.Fatalf("verdict %s: error %v, want failure %v\n%s%s", strings.Join(args, " "), err, wantFail, stdout.String(), stderr.String())
	}
	return stdout.String()
}

func TestRegoTestCommand(t *testing.T) {
	dir := writeRego(t, regoFiles)
	tests := []struct {
		name     string
		args     []string
		wantFail bool
		want     []string
		notWant  []string
	}{
		{
			name: "single test file with its policy and data",
			args: []string{"pass_test.rego", "authz.rego", "data.json"},
			want: []string{"1 passed, 0 failed\n", "coverage authz.rego: ", "not covered: 3, 7-9\n"},
		},
		{
			name:     "failure shows the expression and the values",
			args:     []string{"."},
			wantFail: true,
			want: []string{
				"FAIL data.example.fail_test.test_viewer_deletes (fail_test.rego:5)\n",
				"    fail_test.rego:7:\n",
				`authz.allow with input as {"subject": {"role": role}, "action": "delete"}`,
				`"viewer"`,
				"1 passed, 1 failed\n",
			},
		},
		{
			name:    "run filter",
			args:    []string{".", "--run", `pass_test\.test_admin`},
			want:    []string{"1 passed, 0 failed\n"},
			notWant: []string{"test_viewer_deletes"},
		},
		{
			name:     "explain fails",
			args:     []string{".", "--explain", "fails"},
			wantFail: true,
			want:     []string{"Fail data.example.authz.allow with input as"},
		},
		{
			name:    "bench",
			args:    []string{"pass_test.rego", "authz.rego", "data.json", "--bench"},
			want:    []string{"BENCH data.example.pass_test.test_admin_allowed\t", " ns/op\t", " allocs/op\n"},
			notWant: []string{"coverage"},
		},
		{
			name:     "unknown format is refused",
			args:     []string{"pass_test.rego", "authz.rego", "data.json", "--format", "xml"},
			wantFail: true,
			notWant:  []string{"passed"},
		},
		{
			name:     "unknown explain mode is refused",
			args:     []string{"pass_test.rego", "authz.rego", "data.json", "--explain", "debug"},
			wantFail: true,
			notWant:  []string{"passed"},
		},
		{
			name:     "threshold",
			args:     []string{"pass_test.rego", "authz.rego", "data.json", "--threshold", "90"},
			wantFail: true,
			want:     []string{"(threshold 90.00%)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := verdictStdout(t, dir, tt.wantFail, append([]string{"test"}, tt.args...)...)
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(out, w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestRegoTestReports(t *testing.T) {
	dir := writeRego(t, regoFiles)
	t.Run("junit", func(t *testing.T) {
		var doc struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Suites   []struct {
				Cases []struct {
					Name    string    `xml:"name,attr"`
					Failure *struct{} `xml:"failure"`
				} `xml:"testcase"`
			} `xml:"testsuite"`
		}
		out := verdictStdout(t, dir, true, "test", ".", "--format", "junit")
		if err := xml.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("junit does not parse: %v\n%s", err, out)
		}
		failed := map[string]bool{}
		for _, s := range doc.Suites {
			for _, c := range s.Cases {
				failed[c.Name] = c.Failure != nil
			}
		}
		want := map[string]bool{"test_admin_allowed": false, "test_viewer_deletes": true}
		if doc.Tests != 2 || doc.Failures != 1 || len(failed) != 2 || failed["test_viewer_deletes"] != want["test_viewer_deletes"] || failed["test_admin_allowed"] {
			t.Errorf("junit: %d tests, %d failures, cases %v; want %v\n%s", doc.Tests, doc.Failures, failed, want, out)
		}
	})
	t.Run("json", func(t *testing.T) {
		var doc struct {
			Results []struct {
				Name    string `json:"name"`
				Outcome string `json:"outcome"`
				Failure string `json:"failure"`
			} `json:"results"`
			Files []struct {
				File       string `json:"file"`
				NotCovered []struct {
					Start int `json:"start"`
					End   int `json:"end"`
				} `json:"not_covered"`
			} `json:"files"`
		}
		out := verdictStdout(t, dir, true, "test", ".", "--format", "json")
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("json does not parse: %v\n%s", err, out)
		}
		if len(doc.Results) != 2 || len(doc.Files) != 1 {
			t.Fatalf("json: %s", out)
		}
		for _, r := range doc.Results {
			if r.Name == "test_viewer_deletes" && (r.Outcome != "fail" || !strings.Contains(r.Failure, `"viewer"`)) {
				t.Errorf("failed test = %+v", r)
			}
		}
	})
}

func TestRegoFmtAndCheck(t *testing.T) {
	dir := writeRego(t, map[string]string{
		"good.rego":   "package good\n\nallow if input.x == 1\n",
		"ugly.rego":   "package ugly\nallow   if {input.x==1}\n",
		"unused.rego": "package unused\n\nimport data.good\n\nallow if {\n\tx := 1\n\tinput.y == 2\n}\n",
	})
	if out := verdictStdout(t, dir, false, "fmt", "--list", "."); out != "ugly.rego\n" {
		t.Errorf("fmt --list = %q, want ugly.rego alone", out)
	}
	verdictStdout(t, dir, true, "fmt", "--list", "--fail", ".")
	wantDiff := "--- ugly.rego\n+++ ugly.rego\n@@ -1,2 +1,3 @@\n package ugly\n-allow   if {input.x==1}\n+\n+allow if input.x == 1\n"
	if out := verdictStdout(t, dir, false, "fmt", "--diff", "ugly.rego"); out != wantDiff {
		t.Errorf("fmt --diff = %q, want %q", out, wantDiff)
	}
	verdictStdout(t, dir, false, "fmt", "--write", ".")
	if out := verdictStdout(t, dir, false, "fmt", "--list", "--fail", "."); out != "" {
		t.Errorf("fmt --list after --write = %q", out)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "ugly.rego")); string(got) != "package ugly\n\nallow if input.x == 1\n" {
		t.Errorf("ugly.rego after --write = %q", got)
	}

	verdictStdout(t, dir, false, "check", ".")
	cmd := exec.Command(verdictBin(t), "check", "--strict", ".")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("check --strict passed:\n%s", out)
	}
	for _, want := range []string{"unused.rego:3: rego_compile_error: import data.good unused", "unused.rego:6: rego_compile_error: assigned var x unused"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("check --strict output lacks %q:\n%s", want, out)
		}
	}
	policies, err := filepath.Abs("../policies")
	if err != nil {
		t.Fatal(err)
	}
	verdictStdout(t, dir, false, "check", "--strict", policies)
}

package bundle

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// basicFile is the path of a file of testdata/basic.
func basicFile(name string) string { return filepath.Join("testdata", "basic", name) }

// uncoveredDir is testdata/basic plus a rule no test reaches.
func uncoveredDir(t *testing.T) string {
	t.Helper()
	files := map[string]string{}
	for _, e := range basicEntries(t) {
		files[strings.TrimPrefix(e.name, "/")] = e.body
	}
	files["extra.rego"] = "package example.extra\n\nsecret if {\n\tinput.x == 1\n\tinput.y == 2\n\tinput.z == 3\n}\n"
	return writeDir(t, files)
}

func TestRunTests(t *testing.T) {
	tests := []struct {
		name         string
		paths        func(t *testing.T) []string
		opts         TestOptions
		wantErr      error
		wantPassed   int
		wantFailed   int
		wantOutcomes map[string]TestOutcome
		wantCoverage func(float64) bool
	}{
		{
			name:         "all pass",
			paths:        func(*testing.T) []string { return []string{filepath.Join("testdata", "basic")} },
			opts:         TestOptions{Threshold: 90},
			wantPassed:   3,
			wantOutcomes: map[string]TestOutcome{"test_viewer_reads": TestPassed},
			wantCoverage: func(c float64) bool { return c == 100 },
		},
		{
			name: "archive",
			paths: func(t *testing.T) []string {
				return []string{writeFile(t, "b.tar.gz", tarGz(t, basicEntries(t)))}
			},
			wantPassed:   3,
			wantCoverage: func(c float64) bool { return c == 100 },
		},
		{
			name: "rego and data files given by name",
			paths: func(*testing.T) []string {
				return []string{basicFile("authz.rego"), basicFile("authz_test.rego"), basicFile("data.json")}
			},
			opts:         TestOptions{Threshold: 90},
			wantPassed:   3,
			wantCoverage: func(c float64) bool { return c == 100 },
		},
		{
			name: "a single test file",
			paths: func(t *testing.T) []string {
				return []string{writeFile(t, "one_test.rego", []byte("package one_test\n\ntest_sum if 1 + 1 == 2\n"))}
			},
			wantPassed:   1,
			wantOutcomes: map[string]TestOutcome{"test_sum": TestPassed},
		},
		{
			name:         "run filter matches the full name",
			paths:        func(*testing.T) []string { return []string{filepath.Join("testdata", "basic")} },
			opts:         TestOptions{Run: `authz_test\.test_viewer`},
			wantPassed:   2,
			wantOutcomes: map[string]TestOutcome{"test_viewer_reads": TestPassed, "test_admin_allowed": ""},
		},
		{
			name:         "run filter leaves out a failing test",
			paths:        func(*testing.T) []string { return []string{filepath.Join("testdata", "failing")} },
			opts:         TestOptions{Run: "admin"},
			wantPassed:   1,
			wantOutcomes: map[string]TestOutcome{"test_viewer_deletes": ""},
		},
		{
			name:       "failure and error",
			paths:      func(*testing.T) []string { return []string{filepath.Join("testdata", "failing")} },
			wantErr:    ErrTestsFailed,
			wantPassed: 1,
			wantFailed: 2,
			wantOutcomes: map[string]TestOutcome{
				"test_admin_allowed":        TestPassed,
				"test_viewer_deletes":       TestFailed,
				"test_conflicting_function": TestErrored,
			},
		},
		{
			name:         "coverage below threshold",
			paths:        func(t *testing.T) []string { return []string{uncoveredDir(t)} },
			opts:         TestOptions{Threshold: 90},
			wantErr:      ErrCoverageTooLow,
			wantPassed:   3,
			wantCoverage: func(c float64) bool { return c > 0 && c < 90 },
		},
		{
			name:         "coverage without threshold is reported only",
			paths:        func(t *testing.T) []string { return []string{uncoveredDir(t)} },
			wantPassed:   3,
			wantCoverage: func(c float64) bool { return c > 0 && c < 90 },
		},
		{
			name:         "coverage skipped",
			paths:        func(t *testing.T) []string { return []string{uncoveredDir(t)} },
			opts:         TestOptions{SkipCoverage: true},
			wantPassed:   3,
			wantCoverage: func(c float64) bool { return c == 0 },
		},
		{
			name: "no tests with require tests",
			paths: func(t *testing.T) []string {
				return []string{writeDir(t, map[string]string{"p.rego": "package p\n\nx := 1\n"})}
			},
			opts:    TestOptions{RequireTests: true},
			wantErr: ErrNoTests,
		},
		{
			name: "no tests without require tests",
			paths: func(t *testing.T) []string {
				return []string{writeDir(t, map[string]string{"p.rego": "package p\n\nx := 1\n"})}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			report, err := RunTests(context.Background(), tt.paths(t), tt.opts)
			if err != nil {
				t.Fatalf("RunTests() error = %v", err)
			}
			if err := report.Err(); !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("Err() = %v, want %v", err, tt.wantErr)
			}
			if report.Passed() != tt.wantPassed || report.Failed() != tt.wantFailed {
				t.Errorf("passed, failed = %d, %d, want %d, %d", report.Passed(), report.Failed(), tt.wantPassed, tt.wantFailed)
			}
			got := map[string]TestOutcome{}
			for _, r := range report.Results {
				got[r.Name] = r.Outcome
				if r.File == "" || r.Row == 0 {
					t.Errorf("result %s has no location", r.Name)
				}
			}
			for name, want := range tt.wantOutcomes {
				if got[name] != want {
					t.Errorf("%s = %q, want %q", name, got[name], want)
				}
			}
			if tt.wantCoverage != nil && !tt.wantCoverage(report.Coverage) {
				t.Errorf("coverage = %.2f", report.Coverage)
			}
		})
	}
}

func TestRunTestsRefusesBadInput(t *testing.T) {
	tests := []struct {
		name  string
		paths []string
		opts  TestOptions
	}{
		{name: "no paths"},
		{name: "threshold over 100", paths: []string{filepath.Join("testdata", "basic")}, opts: TestOptions{Threshold: 101}},
		{name: "threshold without coverage", paths: []string{filepath.Join("testdata", "basic")}, opts: TestOptions{Threshold: 50, SkipCoverage: true}},
		{name: "missing path", paths: []string{filepath.Join("testdata", "nope")}},
		{name: "overlapping roots", paths: []string{filepath.Join("testdata", "basic"), filepath.Join("testdata", "failing")}},
		{name: "bad run filter", paths: []string{filepath.Join("testdata", "basic")}, opts: TestOptions{Run: "test_("}},
		{name: "unknown explain mode", paths: []string{filepath.Join("testdata", "basic")}, opts: TestOptions{Explain: "debug"}},
		{name: "threshold with bench", paths: []string{filepath.Join("testdata", "basic")}, opts: TestOptions{Bench: true, Threshold: 50}},
		{name: "missing rego file", paths: []string{basicFile("authz.rego"), filepath.Join("testdata", "nope.rego")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := RunTests(context.Background(), tt.paths, tt.opts); err == nil {
				t.Fatal("RunTests() succeeded")
			}
		})
	}
}

// TestRunTestsRefusesDataUnderBundleRoots: data from a file given by name would be replaced
// when the runner activates a bundle whose roots cover it, and the tests would run without it.
func TestRunTestsRefusesDataUnderBundleRoots(t *testing.T) {
	tests := []struct {
		name   string
		bundle func(t *testing.T) string
		data   string
	}{
		{
			name: "bundle without a manifest",
			bundle: func(t *testing.T) string {
				return writeDir(t, map[string]string{"q.rego": "package q\n\nx := data.extra.v\n"})
			},
			data: `{"extra": {"v": 1}}`,
		},
		{
			name:   "under a manifest root",
			bundle: func(*testing.T) string { return filepath.Join("testdata", "basic") },
			data:   `{"example": {"admin_roles": []}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			paths := []string{tt.bundle(t), writeFile(t, "extra.json", []byte(tt.data))}
			if _, err := RunTests(context.Background(), paths, TestOptions{}); err == nil || !strings.Contains(err.Error(), "would replace it") {
				t.Fatalf("RunTests() error = %v, want the data refused", err)
			}
		})
	}
}

func TestTestBundle(t *testing.T) {
	b, err := Load(filepath.Join("testdata", "failing"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	report, err := Test(context.Background(), b, TestOptions{})
	if err != nil {
		t.Fatalf("Test() error = %v", err)
	}
	if err := report.Err(); !errors.Is(err, ErrTestsFailed) {
		t.Fatalf("Err() = %v, want ErrTestsFailed", err)
	}
	if report.Failed() != 2 {
		t.Errorf("failed = %d, want 2", report.Failed())
	}
	// The bundle is still usable: testing it must not have changed it.
	if len(b.Modules) != 2 || b.Modules[0].Parsed == nil {
		t.Errorf("bundle modules changed: %d", len(b.Modules))
	}
}

// casesTest is a test of testdata/basic's policy with a failing case, a failing expression
// over a variable and a note.
const casesTest = `package example.cases_test

import data.example.authz

test_cases[name] if {
	some name, tc in {
		"viewer reads": {"role": "viewer", "action": "read", "want": true},
		"viewer writes": {"role": "viewer", "action": "write", "want": true},
	}
	got := authz.allow with input as {"subject": {"role": tc.role}, "action": tc.action}
	got == tc.want
}

test_role if {
	role := "viewer"
	trace("checking the viewer")
	authz.allow with input as {"subject": {"role": role}, "action": "delete"}
}
`

func TestRunTestsDiagnose(t *testing.T) {
	file := writeFile(t, "cases_test.rego", []byte(casesTest))
	paths := []string{basicFile("authz.rego"), basicFile("data.json"), file}
	tests := []struct {
		name        string
		opts        TestOptions
		test        string
		wantFailure []string
		wantTrace   []string
	}{
		{
			name: "failing expression with the value of a variable",
			opts: TestOptions{Diagnose: true},
			test: "test_role",
			wantFailure: []string{
				file + ":17:\n",
				`authz.allow with input as {"subject": {"role": role}, "action": "delete"}`,
				`"viewer"`,
			},
		},
		{
			name: "failing case with the values in it",
			opts: TestOptions{Diagnose: true},
			test: "test_cases",
			wantFailure: []string{
				"case viewer writes:\n",
				file + ":11:\n",
				"got == tc.want",
				"tc.want: true",
				`tc: {"action": "write", "role": "viewer", "want": true}`,
			},
		},
		{
			name:      "explain notes",
			opts:      TestOptions{Explain: ExplainNotes},
			test:      "test_role",
			wantTrace: []string{`Note "checking the viewer"`},
		},
		{
			name:      "explain fails",
			opts:      TestOptions{Explain: ExplainFails},
			test:      "test_role",
			wantTrace: []string{"Fail data.example.authz.allow with input as"},
		},
		{
			name:      "explain full",
			opts:      TestOptions{Explain: ExplainFull},
			test:      "test_role",
			wantTrace: []string{"Enter data.example.cases_test.test_role", `Note "checking the viewer"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Run = tt.test
			report, err := RunTests(context.Background(), paths, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(report.Results) != 1 || report.Results[0].Outcome != TestFailed {
				t.Fatalf("results = %+v, want %s failed", report.Results, tt.test)
			}
			got := report.Results[0]
			for _, want := range tt.wantFailure {
				if !strings.Contains(got.Failure, want) {
					t.Errorf("failure lacks %q:\n%s", want, got.Failure)
				}
			}
			for _, want := range tt.wantTrace {
				if !strings.Contains(got.Trace, want) {
					t.Errorf("trace lacks %q:\n%s", want, got.Trace)
				}
			}
		})
	}
}

func TestRunTestsBench(t *testing.T) {
	report, err := RunTests(context.Background(), []string{filepath.Join("testdata", "basic")}, TestOptions{Bench: true, Run: "test_admin_allowed"})
	if err != nil {
		t.Fatal(err)
	}
	if len(report.Results) != 1 {
		t.Fatalf("results = %+v, want one", report.Results)
	}
	bm := report.Results[0].Benchmark
	if bm == nil || bm.N < 1 || bm.NsPerOp <= 0 || bm.AllocsPerOp <= 0 {
		t.Fatalf("benchmark = %+v", bm)
	}
	if err := report.Err(); err != nil {
		t.Errorf("Err() = %v", err)
	}
}

func TestRunTestsNotCoveredLines(t *testing.T) {
	report, err := RunTests(context.Background(), []string{uncoveredDir(t)}, TestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var extra *FileCoverage
	for i, f := range report.Files {
		if strings.HasSuffix(f.File, "/extra.rego") {
			extra = &report.Files[i]
		} else if len(f.NotCovered) != 0 {
			t.Errorf("%s not covered = %v, want none", f.File, f.NotCovered)
		}
	}
	if extra == nil {
		t.Fatalf("no coverage of extra.rego in %+v", report.Files)
	}
	// extra.rego's rule spans lines 3 to 7; no test reaches its body (4-6) or head.
	if want := []LineRange{{Start: 3, End: 6}}; !slices.Equal(extra.NotCovered, want) {
		t.Errorf("not covered = %v, want %v", extra.NotCovered, want)
	}
}

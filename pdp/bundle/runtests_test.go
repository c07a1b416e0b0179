package bundle

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := RunTests(context.Background(), tt.paths, tt.opts); err == nil {
				t.Fatal("RunTests() succeeded")
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

func TestReportWrite(t *testing.T) {
	report, _ := RunTests(context.Background(), []string{filepath.Join("testdata", "failing")}, TestOptions{Threshold: 50})
	tests := []struct {
		name    string
		verbose bool
		want    []string
		notWant []string
	}{
		{
			name: "quiet",
			want: []string{
				"FAIL data.example.authz_test.test_viewer_deletes (testdata/failing/authz_test.rego:7)\n",
				"ERROR data.example.authz_test.test_conflicting_function (testdata/failing/authz_test.rego:13): ",
				"1 passed, 2 failed\n",
				"coverage: ",
				"% (threshold 50.00%)\n",
			},
			notWant: []string{"PASS", "coverage testdata"},
		},
		{
			name:    "verbose",
			verbose: true,
			want: []string{
				"PASS data.example.authz_test.test_admin_allowed (testdata/failing/authz_test.rego:5)",
				"coverage testdata/failing/authz.rego: ",
				"1 passed, 2 failed\n",
			},
			notWant: []string{"authz_test.rego: "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := report.Write(&buf, tt.verbose); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
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

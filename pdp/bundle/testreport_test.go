package bundle

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"path/filepath"
	"strings"
	"testing"
)

// failingReport runs testdata/failing traced, as `verdict test` does.
func failingReport(t *testing.T) TestReport {
	t.Helper()
	report, err := RunTests(context.Background(), []string{filepath.Join("testdata", "failing")}, TestOptions{Threshold: 50, Diagnose: true})
	if err != nil {
		t.Fatal(err)
	}
	return report
}

func TestReportWrite(t *testing.T) {
	report := failingReport(t)
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
				"    testdata/failing/authz_test.rego:7:\n        authz.allow with input as",
				"ERROR data.example.authz_test.test_conflicting_function (testdata/failing/authz_test.rego:13): testdata/failing/authz_test.rego:11: eval_conflict_error: ",
				"    traceback:\n        testdata/failing/authz_test.rego:11: \"two\"\n",
				`produced conflicting values for the same inputs: "one" at testdata/failing/authz_test.rego:9 "two" at testdata/failing/authz_test.rego:11`,
				"coverage testdata/failing/authz.rego: 40.00% (2 of 5 lines), not covered: 7-9\n",
				"1 passed, 2 failed\n",
				"coverage: ",
				"% (threshold 50.00%)\n",
			},
			notWant: []string{"PASS", "authz_test.rego: "},
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

func TestReportWriteJUnit(t *testing.T) {
	var buf bytes.Buffer
	if err := failingReport(t).WriteJUnit(&buf); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Errors   int `xml:"errors,attr"`
		Suites   []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name    string `xml:"name,attr"`
				File    string `xml:"file,attr"`
				Line    int    `xml:"line,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
				Error *struct {
					Message string `xml:"message,attr"`
				} `xml:"error"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("junit does not parse: %v\n%s", err, buf.String())
	}
	if doc.Tests != 3 || doc.Failures != 1 || doc.Errors != 1 || len(doc.Suites) != 1 || len(doc.Suites[0].Cases) != 3 {
		t.Fatalf("junit = %+v, want 3 tests in one suite, 1 failure, 1 error", doc)
	}
	for _, c := range doc.Suites[0].Cases {
		wantFailure, wantError := c.Name == "test_viewer_deletes", c.Name == "test_conflicting_function"
		if (c.Failure != nil) != wantFailure || (c.Error != nil) != wantError {
			t.Errorf("%s: failure %v, error %v", c.Name, c.Failure, c.Error)
		}
		if c.File != "testdata/failing/authz_test.rego" || c.Line == 0 {
			t.Errorf("%s at %s:%d", c.Name, c.File, c.Line)
		}
		if c.Failure != nil && (!strings.Contains(c.Failure.Message, "authz_test.rego:7") || !strings.Contains(c.Failure.Text, "authz.allow with input as")) {
			t.Errorf("failure = %+v", c.Failure)
		}
	}
}

func TestReportWriteJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := failingReport(t).WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var got TestReport
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("json does not parse: %v", err)
	}
	if got.Failed() != 2 || len(got.Files) != 1 || len(got.Files[0].NotCovered) != 1 {
		t.Fatalf("report = %+v", got)
	}
	for _, r := range got.Results {
		if r.Name == "test_viewer_deletes" && !strings.Contains(r.Failure, "authz.allow with input as") {
			t.Errorf("failure = %q", r.Failure)
		}
	}
}

func TestLineRangeString(t *testing.T) {
	tests := []struct {
		name string
		r    LineRange
		want string
	}{
		{name: "one line", r: LineRange{Start: 7, End: 7}, want: "7"},
		{name: "several lines", r: LineRange{Start: 7, End: 9}, want: "7-9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFailureSummary(t *testing.T) {
	got := failingReport(t).FailureSummary()
	want := []string{
		"FAIL data.example.authz_test.test_viewer_deletes (testdata/failing/authz_test.rego:7)",
		"; ERROR data.example.authz_test.test_conflicting_function (testdata/failing/authz_test.rego:13): testdata/failing/authz_test.rego:11: eval_conflict_error",
	}
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("FailureSummary() = %q, lacks %q", got, w)
		}
	}
	if strings.Contains(got, "\n") || strings.Contains(got, "PASS") {
		t.Errorf("FailureSummary() = %q, want one line of failures", got)
	}
}

func TestSkipCoverage(t *testing.T) {
	tests := []struct {
		name    string
		opts    TestOptions
		wantErr bool
	}{
		{name: "coverage left out", opts: TestOptions{SkipCoverage: true}},
		{name: "threshold refused", opts: TestOptions{SkipCoverage: true, Threshold: 50}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			report, err := RunTests(context.Background(), []string{filepath.Join("testdata", "basic")}, tt.opts)
			if (err != nil) != tt.wantErr {
				t.Fatalf("RunTests() error = %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && (report.Passed() != 3 || report.Coverage != 0 || len(report.Files) != 0) {
				t.Errorf("report = %+v, want 3 passed and no coverage", report)
			}
		})
	}
}

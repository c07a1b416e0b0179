package bundle

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/tester"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/open-policy-agent/opa/v1/topdown/lineage"
)

// TestOutcome is the result of one test.
type TestOutcome string

// Test outcomes.
const (
	TestPassed  TestOutcome = "pass"
	TestFailed  TestOutcome = "fail"
	TestErrored TestOutcome = "error"
	TestSkipped TestOutcome = "skip"
)

// TestResult is one test rule's result.
type TestResult struct {
	// Package is the test's package path (data.verdict.rbac_test).
	Package string `json:"package"`
	// Name is the test rule's name (test_editor_reads).
	Name string `json:"name"`
	// File and Row locate the test rule; File is relative to its bundle, prefixed with the
	// bundle's path when RunTests loaded it.
	File     string        `json:"file"`
	Row      int           `json:"row"`
	Outcome  TestOutcome   `json:"outcome"`
	Duration time.Duration `json:"duration"`
	// Error is the evaluation error when Outcome is TestErrored.
	Error string `json:"error,omitempty"`
	// Output is what the test printed with print().
	Output string `json:"output,omitempty"`
	// Failure, for a failed test that was traced (TestOptions.Diagnose or Explain), is the
	// expression that failed, where it is, and the values of its variables (all of them with
	// Diagnose); for an errored one, the error's traceback.
	Failure string `json:"failure,omitempty"`
	// Trace is the evaluation trace TestOptions.Explain kept.
	Trace string `json:"trace,omitempty"`
	// Benchmark is the test's benchmark when TestOptions.Bench ran it.
	Benchmark *Benchmark `json:"benchmark,omitempty"`
}

// Benchmark is what benchmarking one test measured, per evaluation of the test.
type Benchmark struct {
	N           int   `json:"n"`
	NsPerOp     int64 `json:"ns_per_op"`
	BytesPerOp  int64 `json:"bytes_per_op"`
	AllocsPerOp int64 `json:"allocs_per_op"`
}

// LineRange is a span of lines, first and last included.
type LineRange struct {
	Start int `json:"start"`
	End   int `json:"end"`
}

// String returns "12" for one line and "12-14" for several.
func (l LineRange) String() string {
	if l.End <= l.Start {
		return strconv.Itoa(l.Start)
	}
	return fmt.Sprintf("%d-%d", l.Start, l.End)
}

// FileCoverage is the coverage of one policy file.
type FileCoverage struct {
	File            string  `json:"file"`
	Coverage        float64 `json:"coverage"`
	CoveredLines    int     `json:"covered_lines"`
	NotCoveredLines int     `json:"not_covered_lines"`
	// NotCovered are the lines no test reached.
	NotCovered []LineRange `json:"not_covered,omitempty"`
}

// TestReport is the outcome of a test run: every test's result and the coverage of the policy
// files. Test files (_test.rego) are not counted in the coverage, so the figure says how much
// of the policy the tests exercise, not how much of the tests ran.
type TestReport struct {
	// Results are sorted by file, row and name.
	Results []TestResult   `json:"results"`
	Files   []FileCoverage `json:"files"`
	// Coverage is the percentage of policy lines the tests covered.
	Coverage float64 `json:"coverage"`
	// Threshold and RequireTests are the options the run was judged by (see Err).
	Threshold    float64 `json:"threshold"`
	RequireTests bool    `json:"require_tests"`
	// Benchmarked says the tests were benchmarked (TestOptions.Bench), so coverage was not
	// measured.
	Benchmarked bool `json:"benchmarked,omitempty"`
}

// Passed returns how many tests passed.
func (r TestReport) Passed() int { return r.count(TestPassed) }

// Failed returns how many tests failed or could not be evaluated.
func (r TestReport) Failed() int { return r.count(TestFailed) + r.count(TestErrored) }

// Skipped returns how many tests were skipped (todo_ rules).
func (r TestReport) Skipped() int { return r.count(TestSkipped) }

func (r TestReport) count(o TestOutcome) int {
	n := 0
	for _, t := range r.Results {
		if t.Outcome == o {
			n++
		}
	}
	return n
}

// Err judges the run: ErrTestsFailed when a test failed or errored, ErrNoTests when there were
// no tests but a threshold or RequireTests asked for some, ErrCoverageTooLow when coverage is
// under the threshold, nil otherwise.
func (r TestReport) Err() error {
	switch {
	case r.Failed() > 0:
		return fmt.Errorf("%w: %d of %d", ErrTestsFailed, r.Failed(), r.Passed()+r.Failed())
	case len(r.Results) == 0 && (r.RequireTests || r.Threshold > 0):
		return ErrNoTests
	case r.Coverage < r.Threshold:
		return fmt.Errorf("%w: %.2f%% < %.2f%%", ErrCoverageTooLow, r.Coverage, r.Threshold)
	}
	return nil
}

// Write prints the report: a line per failed or errored test with what made it fail (every
// test when verbose, with printed output too), a line per benchmark, the policy files with
// lines no test reached (every file's coverage when verbose), then "N passed, M failed" and,
// unless benchmarked, "coverage: X.XX%".
func (r TestReport) Write(w io.Writer, verbose bool) error {
	var b strings.Builder
	for _, t := range r.Results {
		t.write(&b, verbose)
	}
	for _, f := range r.Files {
		f.write(&b, verbose)
	}
	fmt.Fprintf(&b, "%d passed, %d failed", r.Passed(), r.Failed())
	if n := r.Skipped(); n > 0 {
		fmt.Fprintf(&b, ", %d skipped", n)
	}
	b.WriteByte('\n')
	if !r.Benchmarked {
		fmt.Fprintf(&b, "coverage: %.2f%%", r.Coverage)
		if r.Threshold > 0 {
			fmt.Fprintf(&b, " (threshold %.2f%%)", r.Threshold)
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// write prints one test's lines of the pretty report.
func (t TestResult) write(b *strings.Builder, verbose bool) {
	if bm := t.Benchmark; bm != nil && t.Outcome == TestPassed {
		fmt.Fprintf(b, "BENCH %s.%s\t%d\t%d ns/op\t%d B/op\t%d allocs/op\n", t.Package, t.Name, bm.N, bm.NsPerOp, bm.BytesPerOp, bm.AllocsPerOp)
		return
	}
	failed := t.Outcome == TestFailed || t.Outcome == TestErrored
	if !failed && !verbose {
		return
	}
	if failed {
		b.WriteString(t.failureLine())
	} else {
		fmt.Fprintf(b, "%s %s", t.header(), t.Duration.Round(time.Microsecond))
	}
	b.WriteByte('\n')
	indent(b, t.Failure)
	indent(b, t.Trace)
	if verbose {
		indent(b, t.Output)
	}
}

// FailureSummary names the tests that failed or errored, with their errors, on one line.
func (r TestReport) FailureSummary() string {
	var lines []string
	for _, t := range r.Results {
		if t.Outcome == TestFailed || t.Outcome == TestErrored {
			lines = append(lines, t.failureLine())
		}
	}
	return strings.Join(lines, "; ")
}

// failureLine is "FAIL pkg.name (file:row)", with the error when there is one.
func (t TestResult) failureLine() string {
	if t.Error != "" {
		return t.header() + ": " + oneLine(t.Error)
	}
	return t.header()
}

// header is "OUTCOME pkg.name (file:row)".
func (t TestResult) header() string {
	return fmt.Sprintf("%s %s.%s (%s:%d)", strings.ToUpper(string(t.Outcome)), t.Package, t.Name, t.File, t.Row)
}

// write prints the file's coverage line: when verbose, or when some line is not covered.
func (f FileCoverage) write(b *strings.Builder, verbose bool) {
	if !verbose && len(f.NotCovered) == 0 {
		return
	}
	fmt.Fprintf(b, "coverage %s: %.2f%% (%d of %d lines)", f.File, f.Coverage, f.CoveredLines, f.CoveredLines+f.NotCoveredLines)
	if len(f.NotCovered) > 0 {
		lines := make([]string, len(f.NotCovered))
		for i, l := range f.NotCovered {
			lines[i] = l.String()
		}
		fmt.Fprintf(b, ", not covered: %s", strings.Join(lines, ", "))
	}
	b.WriteByte('\n')
}

// indent writes text under a test's line, four spaces in.
func indent(b *strings.Builder, text string) {
	if text = strings.TrimRight(text, "\n"); text == "" {
		return
	}
	for line := range strings.SplitSeq(text, "\n") {
		fmt.Fprintf(b, "    %s\n", line)
	}
}

// WriteJSON prints the report as one JSON document.
func (r TestReport) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// add records one result of OPA's runner; display names its file as the report shows it.
func (r *TestReport) add(res *tester.Result, explain Explain, display func(string) string) {
	t := TestResult{Package: res.Package, Name: res.Name, Duration: res.Duration, Output: string(res.Output)}
	if res.Location != nil {
		t.File, t.Row = display(res.Location.File), res.Location.Row
	}
	switch {
	case res.Skip:
		t.Outcome = TestSkipped
	case res.Error != nil:
		t.Outcome, t.Error, t.Failure = TestErrored, displayText(res.Error.Error(), display), traceback(res.Error, display)
	case res.Fail:
		t.Outcome = TestFailed
		t.Failure = failure(res, display)
	default:
		t.Outcome = TestPassed
	}
	if br := res.BenchmarkResult; br != nil && br.N > 0 {
		t.Benchmark = &Benchmark{N: br.N, NsPerOp: br.NsPerOp(), BytesPerOp: br.AllocedBytesPerOp(), AllocsPerOp: br.AllocsPerOp()}
	}
	t.Trace = explainTrace(res.Trace, explain)
	r.Results = append(r.Results, t)
}

// failure describes why a traced test failed: its failing expression with the values of its
// variables, or that of each failed case of a test with cases (test_x[name]).
func failure(res *tester.Result, display func(string) string) string {
	if len(res.SubResults) == 0 {
		return failingExpr(res.Trace, display)
	}
	var b strings.Builder
	for name, sr := range res.SubResults.Iter {
		if sr.Fail && len(sr.SubResults) == 0 {
			fmt.Fprintf(&b, "case %s:\n", strings.Join(name, "/"))
			indent(&b, failingExpr(sr.Trace, display))
		}
	}
	return b.String()
}

// failingExpr renders the last expression of the test that failed, as `opa test --var-values`
// does: its location, the expression and the values of the variables in it. It is empty
// when the test was not traced.
func failingExpr(trace []*topdown.Event, display func(string) string) string {
	for i := len(trace) - 1; i >= 0; i-- {
		e := trace[i]
		if e.Op != topdown.FailOp || e.Location == nil || e.QueryID == 0 {
			continue
		}
		if expr, ok := e.Node.(*ast.Expr); ok {
			if _, every := expr.Terms.(*ast.Every); every {
				// The failing expression inside the every body says more.
				continue
			}
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%s:%d:\n", display(e.Location.File), e.Location.Row)
		var expr strings.Builder
		if err := topdown.PrettyEvent(&expr, e, topdown.PrettyEventOpts{PrettyVars: true}); err != nil {
			return b.String()
		}
		indent(&b, dedent(expr.String()))
		return b.String()
	}
	return ""
}

// traceback renders the stack of an evaluation error, when the runner recorded one.
func traceback(err error, display func(string) string) string {
	var tdErr *topdown.Error
	if !errors.As(err, &tdErr) || len(tdErr.StackTrace) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("traceback:\n")
	for _, frame := range tdErr.StackTrace {
		fmt.Fprintf(&b, "    %v\n", frame)
	}
	return displayText(b.String(), display)
}

// regoFileRef finds the file names in OPA's messages: a .rego path followed by ":line".
var regoFileRef = regexp.MustCompile(`(^|[\s"(])(/[^\s:"]*\.rego):`)

// displayText names the files in an evaluation error's text as the report does: OPA names a
// bundle's files by their path inside the bundle.
func displayText(text string, display func(string) string) string {
	return regoFileRef.ReplaceAllStringFunc(text, func(m string) string {
		sub := regoFileRef.FindStringSubmatch(m)
		return sub[1] + display(sub[2]) + ":"
	})
}

// explainTrace renders the part of trace that mode keeps.
func explainTrace(trace []*topdown.Event, mode Explain) string {
	switch mode {
	case ExplainFails:
		trace = lineage.Fails(trace)
	case ExplainFull:
		trace = lineage.Full(trace)
	case ExplainNotes:
		trace = lineage.Notes(trace)
	default:
		return ""
	}
	var b strings.Builder
	topdown.PrettyTraceWithLocation(&b, trace)
	return b.String()
}

// dedent removes the leading whitespace all of text's non-empty lines share: OPA pads the
// failing expression to its column in the file, so that the marks under it line up.
func dedent(text string) string {
	lines := strings.Split(text, "\n")
	prefix, first := "", true
	for _, line := range lines {
		if strings.TrimSpace(line) == "" {
			continue
		}
		lead := line[:len(line)-len(strings.TrimLeft(line, " \t"))]
		if first {
			prefix, first = lead, false
			continue
		}
		for !strings.HasPrefix(lead, prefix) {
			prefix = prefix[:len(prefix)-1]
		}
	}
	for i, line := range lines {
		lines[i] = strings.TrimPrefix(line, prefix)
	}
	return strings.Join(lines, "\n")
}

// junitSuites is the root of a JUnit XML report, the shape CI dashboards read: a test suite
// per Rego package, a test case per test rule.
type junitSuites struct {
	XMLName xml.Name `xml:"testsuites"`
	Name    string   `xml:"name,attr"`
	junitCounts
	Suites []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name string `xml:"name,attr"`
	junitCounts
	Cases []junitCase `xml:"testcase"`
}

// junitCounts are the attributes a suite and the root share; encoding/xml writes an embedded
// struct's fields as the outer struct's.
type junitCounts struct {
	Tests    int    `xml:"tests,attr"`
	Failures int    `xml:"failures,attr"`
	Errors   int    `xml:"errors,attr"`
	Skipped  int    `xml:"skipped,attr"`
	Time     string `xml:"time,attr"`
	duration time.Duration
}

// count adds one test with its outcome and duration.
func (c *junitCounts) count(o TestOutcome, d time.Duration) {
	c.Tests++
	switch o {
	case TestFailed:
		c.Failures++
	case TestErrored:
		c.Errors++
	case TestSkipped:
		c.Skipped++
	}
	c.duration += d
	c.Time = seconds(c.duration)
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Line      int           `xml:"line,attr,omitempty"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *struct{}     `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",cdata"`
}

// WriteJUnit prints the report as JUnit XML: a testsuite per package, a testcase per test,
// with a failure (the failing expression and its values), an error or skipped element.
func (r TestReport) WriteJUnit(w io.Writer) error {
	root := junitSuites{Name: "verdict test"}
	suites := map[string]*junitSuite{}
	for _, t := range r.Results {
		s, ok := suites[t.Package]
		if !ok {
			s = &junitSuite{Name: t.Package}
			suites[t.Package] = s
		}
		c := junitCase{Name: t.Name, Classname: t.Package, File: t.File, Line: t.Row, Time: seconds(t.Duration), SystemOut: t.Output}
		switch t.Outcome {
		case TestFailed:
			c.Failure = &junitProblem{Message: failureMessage(t), Text: t.Failure + t.Trace}
		case TestErrored:
			c.Error = &junitProblem{Message: oneLine(t.Error), Text: t.Failure + t.Trace}
		case TestSkipped:
			c.Skipped = &struct{}{}
		}
		s.Cases = append(s.Cases, c)
		s.count(t.Outcome, t.Duration)
		root.count(t.Outcome, t.Duration)
	}
	for _, pkg := range slices.Sorted(maps.Keys(suites)) {
		root.Suites = append(root.Suites, *suites[pkg])
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(root); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// failureMessage is a failed test's one-line summary: where it failed and the expression.
func failureMessage(t TestResult) string {
	lines := strings.SplitN(strings.TrimSpace(t.Failure), "\n", 3)
	if len(lines) < 2 {
		return "test failed"
	}
	return "failed at " + strings.TrimSpace(lines[0]) + " " + strings.TrimSpace(lines[1])
}

// seconds formats d as JUnit times are written: seconds, to the millisecond.
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}

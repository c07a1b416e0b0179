package bundle

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	opabundle "github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/cover"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"

	"github.com/verdict-pdp/verdict/pdp/config"
)

// Errors TestReport.Err returns, for a caller that gates on a test run.
var (
	// ErrTestsFailed means at least one Rego test failed or could not be evaluated.
	ErrTestsFailed = errors.New("rego tests failed")
	// ErrCoverageTooLow means the tests passed but covered less than the threshold.
	ErrCoverageTooLow = errors.New("rego test coverage below threshold")
	// ErrNoTests means the bundles hold no test rules while a threshold or RequireTests asked
	// for them.
	ErrNoTests = errors.New("no rego tests found")
)

// Test defaults.
const (
	// DefaultTestTimeout bounds one test, as `opa test` does.
	DefaultTestTimeout = 5 * time.Second
)

// TestOptions configures RunTests and Test.
type TestOptions struct {
	// Threshold is the least coverage, in percent (0–100), accepted; 0 accepts any coverage.
	Threshold float64
	// Timeout bounds each test; zero means DefaultTestTimeout.
	Timeout time.Duration
	// MaxBytes bounds each bundle RunTests loads, as in Load; zero means
	// config.DefaultMaxBundleBytes.
	MaxBytes int64
	// RequireTests makes a bundle without any test rule an error (ErrNoTests).
	RequireTests bool
	// SkipCoverage leaves coverage out (Coverage and Files stay empty), for a gate that only
	// needs the tests to pass; tracing coverage makes a run slower. Threshold must then be 0.
	SkipCoverage bool
	// AllowBuiltins are the denied builtins (DeniedBuiltins) the policy may call anyway, as
	// policy.allow_builtins: a bundle that calls another is refused before its tests run.
	AllowBuiltins []string
}

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
}

// FileCoverage is the coverage of one policy file.
type FileCoverage struct {
	File            string  `json:"file"`
	Coverage        float64 `json:"coverage"`
	CoveredLines    int     `json:"covered_lines"`
	NotCoveredLines int     `json:"not_covered_lines"`
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
	line := fmt.Sprintf("%s %s.%s (%s:%d)", strings.ToUpper(string(t.Outcome)), t.Package, t.Name, t.File, t.Row)
	if t.Error != "" {
		line += ": " + oneLine(t.Error)
	}
	return line
}

// Write prints the report: a line per failed or errored test (every test when verbose, with
// per-file coverage and printed output too), then "N passed, M failed" and "coverage: X.XX%".
func (r TestReport) Write(w io.Writer, verbose bool) error {
	var b strings.Builder
	for _, t := range r.Results {
		if t.Outcome == TestPassed || t.Outcome == TestSkipped {
			if verbose {
				fmt.Fprintf(&b, "%s %s.%s (%s:%d) %s\n", strings.ToUpper(string(t.Outcome)), t.Package, t.Name, t.File, t.Row, t.Duration.Round(time.Microsecond))
			}
			continue
		}
		b.WriteString(t.failureLine())
		b.WriteByte('\n')
		if verbose && t.Output != "" {
			for line := range strings.SplitSeq(strings.TrimRight(t.Output, "\n"), "\n") {
				fmt.Fprintf(&b, "    %s\n", line)
			}
		}
	}
	if verbose {
		for _, f := range r.Files {
			fmt.Fprintf(&b, "coverage %s: %.2f%% (%d of %d lines)\n", f.File, f.Coverage, f.CoveredLines, f.CoveredLines+f.NotCoveredLines)
		}
	}
	fmt.Fprintf(&b, "%d passed, %d failed", r.Passed(), r.Failed())
	if n := r.Skipped(); n > 0 {
		fmt.Fprintf(&b, ", %d skipped", n)
	}
	b.WriteByte('\n')
	fmt.Fprintf(&b, "coverage: %.2f%%", r.Coverage)
	if r.Threshold > 0 {
		fmt.Fprintf(&b, " (threshold %.2f%%)", r.Threshold)
	}
	b.WriteByte('\n')
	_, err := io.WriteString(w, b.String())
	return err
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// RunTests loads each path as a bundle (a directory or a .tar.gz, as Load does) and runs the
// Rego unit tests in them, with coverage. Bundles given together must not have overlapping
// roots. The error reports only what kept the tests from running (a bundle that does not
// load or compile); failed tests and low coverage are in the report, judged by its Err.
func RunTests(ctx context.Context, paths []string, opts TestOptions) (TestReport, error) {
	if len(paths) == 0 {
		return TestReport{}, errors.New("run rego tests: no paths given")
	}
	maxBytes := cmp.Or(opts.MaxBytes, config.DefaultMaxBundleBytes)
	bundles := make(map[string]*opabundle.Bundle, len(paths))
	for _, p := range paths {
		b, err := Load(p, maxBytes)
		if err != nil {
			return TestReport{}, fmt.Errorf("run rego tests: %w", err)
		}
		bundles[p] = b
	}
	return runTests(ctx, bundles, opts, true)
}

// Test runs the Rego unit tests of one loaded bundle, with coverage, as RunTests does. The
// policy.require_tests gate runs it on a bundle before activating it and refuses the bundle
// when the report's Err is not nil.
func Test(ctx context.Context, b *opabundle.Bundle, opts TestOptions) (TestReport, error) {
	return runTests(ctx, map[string]*opabundle.Bundle{"bundle": b}, opts, false)
}

// runTests runs the tests of bundles, keyed by name. With withPaths, file names in the report
// are prefixed with the name of their bundle, which RunTests sets to the path it loaded.
func runTests(ctx context.Context, bundles map[string]*opabundle.Bundle, opts TestOptions, withPaths bool) (TestReport, error) {
	if opts.Threshold < 0 || opts.Threshold > 100 {
		return TestReport{}, fmt.Errorf("run rego tests: threshold %.2f is not between 0 and 100", opts.Threshold)
	}
	if opts.SkipCoverage && opts.Threshold > 0 {
		return TestReport{}, errors.New("run rego tests: a coverage threshold needs coverage, which SkipCoverage leaves out")
	}
	builtins, err := NewBuiltins(opts.AllowBuiltins)
	if err != nil {
		return TestReport{}, fmt.Errorf("run rego tests: %w", err)
	}
	for _, b := range bundles {
		if err := builtins.Check(b); err != nil {
			return TestReport{}, fmt.Errorf("run rego tests: %w", err)
		}
	}
	store := inmem.NewWithOpts(inmem.OptRoundTripOnWrite(false))
	txn, err := store.NewTransaction(ctx, storage.WriteParams)
	if err != nil {
		return TestReport{}, fmt.Errorf("run rego tests: %w", err)
	}
	defer store.Abort(ctx, txn)

	cov := cover.New()
	// The runner's own compiler would allow every builtin; print statements are on, as they
	// are by default, for CapturePrintOutput.
	compiler := ast.NewCompiler().WithCapabilities(builtins.Capabilities()).
		WithEnablePrintStatements(true).WithDefaultRegoVersion(ast.RegoV1)
	runner := tester.NewRunner().
		SetCompiler(compiler).
		SetDefaultRegoVersion(ast.RegoV1).
		SetStore(store).
		SetBundles(bundles).
		CapturePrintOutput(true).
		SetTimeout(cmp.Or(opts.Timeout, DefaultTestTimeout)).
		SetParallel(runtime.GOMAXPROCS(0))
	if !opts.SkipCoverage {
		runner.SetCoverageQueryTracer(cov)
	}
	ch, err := runner.RunTests(ctx, txn)
	if err != nil {
		return TestReport{}, fmt.Errorf("run rego tests: %w", err)
	}
	display := displayNames(bundles, withPaths)
	report := TestReport{Threshold: opts.Threshold, RequireTests: opts.RequireTests}
	for res := range ch {
		report.add(res, display)
	}
	if err := ctx.Err(); err != nil {
		return report, fmt.Errorf("run rego tests: %w", err)
	}
	slices.SortFunc(report.Results, func(a, b TestResult) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Row, b.Row), cmp.Compare(a.Name, b.Name))
	})
	if !opts.SkipCoverage {
		report.setCoverage(cov, policyModules(bundles), display)
	}
	return report, nil
}

// displayNames maps the file names module locations carry to the names a report shows.
func displayNames(bundles map[string]*opabundle.Bundle, withPaths bool) func(string) string {
	names := make(map[string]string)
	for name, b := range bundles {
		for _, mf := range b.Modules {
			shown := strings.TrimPrefix(mf.Path, "/")
			if withPaths {
				shown = path.Join(filepath.ToSlash(name), shown)
			}
			names[mf.Path] = shown
		}
	}
	return func(file string) string {
		if shown, ok := names[file]; ok {
			return shown
		}
		return strings.TrimPrefix(file, "/")
	}
}

func (r *TestReport) add(res *tester.Result, display func(string) string) {
	t := TestResult{Package: res.Package, Name: res.Name, Duration: res.Duration, Output: string(res.Output)}
	if res.Location != nil {
		t.File, t.Row = display(res.Location.File), res.Location.Row
	}
	switch {
	case res.Skip:
		t.Outcome = TestSkipped
	case res.Error != nil:
		t.Outcome, t.Error = TestErrored, res.Error.Error()
	case res.Fail:
		t.Outcome = TestFailed
	default:
		t.Outcome = TestPassed
	}
	r.Results = append(r.Results, t)
}

// policyModules returns the bundles' modules that are not tests, keyed by the file name their
// locations carry, which is how the coverage tracer names them.
func policyModules(bundles map[string]*opabundle.Bundle) map[string]*ast.Module {
	mods := make(map[string]*ast.Module)
	for _, b := range bundles {
		for _, mf := range b.Modules {
			if strings.HasSuffix(mf.Path, "_test.rego") || mf.Parsed == nil {
				continue
			}
			file := mf.Path
			if loc := mf.Parsed.Package.Location; loc != nil && loc.File != "" {
				file = loc.File
			}
			mods[file] = mf.Parsed
		}
	}
	return mods
}

// setCoverage computes coverage over the policy files only; OPA's own total also counts the
// test files, which the tests cover by running.
func (r *TestReport) setCoverage(cov *cover.Cover, mods map[string]*ast.Module, display func(string) string) {
	rep := cov.Report(mods)
	var covered, notCovered int
	for file := range mods {
		fr, ok := rep.Files[file]
		if !ok {
			continue
		}
		covered += fr.CoveredLines
		notCovered += fr.NotCoveredLines
		r.Files = append(r.Files, FileCoverage{
			File:            display(file),
			Coverage:        fr.Coverage,
			CoveredLines:    fr.CoveredLines,
			NotCoveredLines: fr.NotCoveredLines,
		})
	}
	slices.SortFunc(r.Files, func(a, b FileCoverage) int { return cmp.Compare(a.File, b.File) })
	if total := covered + notCovered; total > 0 {
		r.Coverage = 100 * float64(covered) / float64(total)
	}
}

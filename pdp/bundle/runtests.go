package bundle

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
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
	// DefaultBenchTimeout bounds the benchmark of one test, as `opa test --bench` does.
	DefaultBenchTimeout = 30 * time.Second
)

// Explain selects the evaluation trace a test run keeps for each test, as `opa test --explain`.
type Explain string

// Explain modes.
const (
	// ExplainNone keeps no trace.
	ExplainNone Explain = ""
	// ExplainFails keeps the steps that led to failed expressions.
	ExplainFails Explain = "fails"
	// ExplainFull keeps every step.
	ExplainFull Explain = "full"
	// ExplainNotes keeps the trace(...) notes the test made.
	ExplainNotes Explain = "notes"
)

// TestOptions configures RunTests and Test.
type TestOptions struct {
	// Threshold is the least coverage, in percent (0–100), accepted; 0 accepts any coverage.
	Threshold float64
	// Timeout bounds each test; zero means DefaultTestTimeout (DefaultBenchTimeout with Bench).
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
	// Run, when set, runs only the tests whose full name (data.pkg.test_name) matches this
	// regular expression, as `opa test --run`.
	Run string
	// Diagnose records, for each failed test, the expression that failed with the values of
	// its variables (TestResult.Failure). It traces every test, which slows the run; the
	// policy.require_tests gate leaves it off.
	Diagnose bool
	// Explain keeps each test's evaluation trace, filtered by mode (TestResult.Trace).
	Explain Explain
	// Bench benchmarks each test (TestResult.Benchmark) instead of running it once, as
	// `opa test --bench`; coverage is not measured, so Threshold must be 0.
	Bench bool
}

// validate returns every problem with the options, joined.
func (o TestOptions) validate() error {
	var errs []error
	if o.Threshold < 0 || o.Threshold > 100 {
		errs = append(errs, fmt.Errorf("threshold %.2f is not between 0 and 100", o.Threshold))
	}
	if o.SkipCoverage && o.Threshold > 0 {
		errs = append(errs, errors.New("a coverage threshold needs coverage, which SkipCoverage leaves out"))
	}
	if o.Bench && o.Threshold > 0 {
		errs = append(errs, errors.New("coverage is not measured when benchmarking: a threshold cannot be met"))
	}
	if !slices.Contains([]Explain{ExplainNone, ExplainFails, ExplainFull, ExplainNotes}, o.Explain) {
		errs = append(errs, fmt.Errorf("explain mode %q is not fails, full or notes", o.Explain))
	}
	if _, err := regexp.Compile(o.Run); err != nil {
		errs = append(errs, fmt.Errorf("run filter: %w", err))
	}
	return errors.Join(errs...)
}

// RunTests runs the Rego unit tests found in paths, with coverage. A directory or a .tar.gz
// archive is loaded as a bundle, as Load does (so its manifest roots apply, and bundles given
// together must not have overlapping roots); a .rego, .json or .yaml file is loaded as
// `opa test` loads a file given by name, its data at the root of data. The error reports
// only what kept the tests from running (a path that does not load or compile, bad
// options); failed tests and low coverage are in the report, judged by its Err.
func RunTests(ctx context.Context, paths []string, opts TestOptions) (TestReport, error) {
	if len(paths) == 0 {
		return TestReport{}, errors.New("run rego tests: no paths given")
	}
	maxBytes := cmp.Or(opts.MaxBytes, config.DefaultMaxBundleBytes)
	in := testInput{bundles: make(map[string]*opabundle.Bundle, len(paths)), withPaths: true}
	var files []string
	for _, p := range paths {
		if isSourceFile(p) {
			files = append(files, p)
			continue
		}
		b, err := Load(p, maxBytes)
		if err != nil {
			return TestReport{}, fmt.Errorf("run rego tests: %w", err)
		}
		in.bundles[p] = b
	}
	if len(files) > 0 {
		loose, data, err := loadFiles(files)
		if err != nil {
			return TestReport{}, fmt.Errorf("run rego tests: %w", err)
		}
		in.files, in.data = loose, data
	}
	if err := in.checkDataRoots(); err != nil {
		return TestReport{}, fmt.Errorf("run rego tests: %w", err)
	}
	return runTests(ctx, in, opts)
}

// Test runs the Rego unit tests of one loaded bundle, with coverage, as RunTests does. The
// policy.require_tests gate runs it on a bundle before activating it and refuses the bundle
// when the report's Err is not nil.
func Test(ctx context.Context, b *opabundle.Bundle, opts TestOptions) (TestReport, error) {
	return runTests(ctx, testInput{bundles: map[string]*opabundle.Bundle{"bundle": b}}, opts)
}

// testInput is what a test run evaluates: bundles keyed by name, and Rego and data files
// given by name (files, whose modules carry the names as given, and data).
type testInput struct {
	bundles map[string]*opabundle.Bundle
	files   *opabundle.Bundle
	data    map[string]any
	// withPaths prefixes file names in the report with the name of their bundle, which
	// RunTests sets to the path it loaded.
	withPaths bool
}

// all returns the bundles and, when files were given, the bundle of files.
func (in testInput) all() []*opabundle.Bundle {
	all := slices.Collect(maps.Values(in.bundles))
	if in.files != nil {
		all = append(all, in.files)
	}
	return all
}

// checkDataRoots refuses data from files given by name that a bundle's roots cover: the
// runner activates the bundles after writing that data, and activation replaces what is
// under their roots, so the tests would run without it.
func (in testInput) checkDataRoots() error {
	for name, b := range in.bundles {
		roots := []string{""}
		if r := b.Manifest.Roots; r != nil {
			roots = *r
		}
		for key := range in.data {
			for _, root := range roots {
				if root == "" || strings.Split(root, "/")[0] == key {
					return fmt.Errorf("data.%s, from the files given, is under the roots of bundle %s (%q), which would replace it: move the file into the bundle, or give the bundle a .manifest with its roots", key, name, root)
				}
			}
		}
	}
	return nil
}

// isSourceFile reports whether path names a Rego or data file rather than a bundle.
func isSourceFile(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".rego", ".json", ".yaml", ".yml":
		info, err := os.Stat(path)
		return err == nil && info.Mode().IsRegular()
	}
	return false
}

// runTests runs the tests of in. Tracing every test would slow the run severalfold, so with
// Diagnose the tests that failed run again, alone and traced, to say why.
func runTests(ctx context.Context, in testInput, opts TestOptions) (TestReport, error) {
	if err := opts.validate(); err != nil {
		return TestReport{}, fmt.Errorf("run rego tests: %w", err)
	}
	builtins, err := NewBuiltins(opts.AllowBuiltins)
	if err != nil {
		return TestReport{}, fmt.Errorf("run rego tests: %w", err)
	}
	for _, b := range in.all() {
		if err := builtins.Check(b); err != nil {
			return TestReport{}, fmt.Errorf("run rego tests: %w", err)
		}
	}
	display := displayNames(in)
	report := TestReport{Threshold: opts.Threshold, RequireTests: opts.RequireTests, Benchmarked: opts.Bench}
	var cov *cover.Cover
	if !opts.Bench && !opts.SkipCoverage {
		cov = cover.New()
	}
	err = runPass(ctx, newRunner(in, opts, builtins, cov, false), in.data, opts.Bench, func(res *tester.Result) {
		report.add(res, opts.Explain, display)
	})
	if err != nil {
		return report, fmt.Errorf("run rego tests: %w", err)
	}
	if opts.Diagnose && !opts.Bench && report.Failed() > 0 {
		if err := report.diagnose(ctx, newRunner(in, opts, builtins, nil, true), in.data, display); err != nil {
			return report, fmt.Errorf("run rego tests: %w", err)
		}
	}
	slices.SortFunc(report.Results, func(a, b TestResult) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Row, b.Row), cmp.Compare(a.Name, b.Name))
	})
	if cov != nil {
		report.setCoverage(cov, policyModules(in), display)
	}
	return report, nil
}

// runPass runs (or, with bench, benchmarks) the tests runner selects over a fresh store
// holding data, and hands each result to add.
func runPass(ctx context.Context, runner *tester.Runner, data map[string]any, bench bool, add func(*tester.Result)) error {
	if data == nil {
		data = map[string]any{}
	}
	store := inmem.NewFromObjectWithOpts(data, inmem.OptRoundTripOnWrite(false))
	txn, err := store.NewTransaction(ctx, storage.WriteParams)
	if err != nil {
		return err
	}
	defer store.Abort(ctx, txn)
	runner.SetStore(store)
	var ch chan *tester.Result
	if bench {
		// testing.Benchmark reads the testing package's flags, which only Init defines.
		testing.Init()
		ch, err = runner.RunBenchmarks(ctx, txn, tester.BenchmarkOptions{ReportAllocations: true})
	} else {
		ch, err = runner.RunTests(ctx, txn)
	}
	if err != nil {
		return err
	}
	for res := range ch {
		add(res)
	}
	return ctx.Err()
}

// diagnose runs the failed and errored tests again with runner, which traces, and records
// why each failed.
func (r *TestReport) diagnose(ctx context.Context, runner *tester.Runner, data map[string]any, display func(string) string) error {
	failed := make(map[string]*TestResult)
	var names []string
	for i, t := range r.Results {
		if t.Outcome == TestFailed || t.Outcome == TestErrored {
			full := t.Package + "." + t.Name
			failed[full] = &r.Results[i]
			names = append(names, regexp.QuoteMeta(full))
		}
	}
	runner.Filter("^(" + strings.Join(names, "|") + ")$")
	return runPass(ctx, runner, data, false, func(res *tester.Result) {
		t, ok := failed[res.Package+"."+res.Name]
		if !ok {
			return
		}
		switch {
		case res.Error != nil:
			t.Failure = traceback(res.Error, display)
		case res.Fail:
			t.Failure = failure(res, display)
		}
	})
}

// newRunner returns OPA's test runner set up for opts, without a store. The runner's own
// compiler would allow every builtin, so it gets one with Verdict's capabilities. cov, when
// not nil, measures coverage (never while benchmarking); diagnose traces every test, with the values of the test
// rules' variables.
func newRunner(in testInput, opts TestOptions, builtins *Builtins, cov *cover.Cover, diagnose bool) *tester.Runner {
	trace := diagnose || opts.Explain != ExplainNone
	compiler := ast.NewCompiler().WithCapabilities(builtins.Capabilities()).
		WithEnablePrintStatements(!opts.Bench).WithDefaultRegoVersion(ast.RegoV1).
		WithRewriteTestRules(diagnose)
	timeout := cmp.Or(opts.Timeout, DefaultTestTimeout)
	if opts.Bench {
		timeout = cmp.Or(opts.Timeout, DefaultBenchTimeout)
	}
	runner := tester.NewRunner().
		SetCompiler(compiler).
		SetDefaultRegoVersion(ast.RegoV1).
		SetBundles(in.bundles).
		CapturePrintOutput(true).
		EnableTracing(trace).
		StackTraces(trace).
		Filter(opts.Run).
		SetTimeout(timeout).
		SetParallel(runtime.GOMAXPROCS(0))
	if in.files != nil {
		runner.SetModules(in.files.ParsedModules(""))
	}
	if cov != nil {
		runner.SetCoverageQueryTracer(cov)
	}
	return runner
}

// displayNames maps the file names module locations carry to the names a report shows: a
// file given by name keeps it; a bundle's file gets its bundle's path in front (withPaths).
func displayNames(in testInput) func(string) string {
	names := make(map[string]string)
	for name, b := range in.bundles {
		for _, mf := range b.Modules {
			shown := strings.TrimPrefix(mf.Path, "/")
			if in.withPaths {
				shown = path.Join(filepath.ToSlash(name), shown)
			}
			names[mf.Path] = shown
		}
	}
	if in.files != nil {
		for _, mf := range in.files.Modules {
			names[mf.Path] = mf.Path
		}
	}
	return func(file string) string {
		if shown, ok := names[file]; ok {
			return shown
		}
		return strings.TrimPrefix(file, "/")
	}
}

// policyModules returns the modules that are not tests, keyed by the file name their
// locations carry, which is how the coverage tracer names them.
func policyModules(in testInput) map[string]*ast.Module {
	mods := make(map[string]*ast.Module)
	for _, b := range in.all() {
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
			NotCovered:      lineRanges(fr.NotCovered),
		})
	}
	slices.SortFunc(r.Files, func(a, b FileCoverage) int { return cmp.Compare(a.File, b.File) })
	if total := covered + notCovered; total > 0 {
		r.Coverage = 100 * float64(covered) / float64(total)
	}
}

// lineRanges turns OPA's not-covered ranges, sorted, into line ranges, joining ranges that
// touch (lines 7, 8 and 9 are 7-9).
func lineRanges(rs []cover.Range) []LineRange {
	var out []LineRange
	for _, r := range rs {
		if n := len(out); n > 0 && r.Start.Row <= out[n-1].End+1 {
			out[n-1].End = max(out[n-1].End, r.End.Row)
			continue
		}
		out = append(out, LineRange{Start: r.Start.Row, End: r.End.Row})
	}
	return out
}

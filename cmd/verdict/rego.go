package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/spf13/cobra"

	"github.com/verdict-pdp/verdict/pdp/bundle"
)

// Output formats of `verdict test`.
const (
	formatPretty = "pretty"
	formatJSON   = "json"
	formatJUnit  = "junit"
)

func newTestCommand() *cobra.Command {
	var opts bundle.TestOptions
	var verbose bool
	var explain, format string
	cmd := &cobra.Command{
		Use:   "test [paths]",
		Short: "Run Rego unit tests with coverage",
		Long: "Run the Rego unit tests (test_ rules) in the given paths (default: policies) and report coverage " +
			"of the policy files, with the lines no test reached. A directory or .tar.gz is read as a bundle " +
			"(its .manifest roots apply); a .rego, .json or .yaml file is read as `opa test` reads it. " +
			"A failed test shows the expression that failed and the values of its variables. " +
			"Exits non-zero when a test fails or coverage is under --threshold.",
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, paths []string) error {
			if !slices.Contains([]string{formatPretty, formatJSON, formatJUnit}, format) {
				return fmt.Errorf("--format %q: want pretty, json or junit", format)
			}
			if len(paths) == 0 {
				paths = []string{"policies"}
			}
			opts.Explain = bundle.Explain(explain)
			opts.Diagnose = !opts.Bench
			report, err := bundle.RunTests(cmd.Context(), paths, opts)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			switch format {
			case formatJSON:
				err = report.WriteJSON(out)
			case formatJUnit:
				err = report.WriteJUnit(out)
			default:
				err = report.Write(out, verbose)
			}
			if err != nil {
				return err
			}
			return report.Err()
		},
	}
	f := cmd.Flags()
	f.Float64Var(&opts.Threshold, "threshold", 0, "fail when coverage is below this percentage")
	f.DurationVar(&opts.Timeout, "timeout", 0, "bound for each test (default 5s, 30s with --bench)")
	f.BoolVarP(&verbose, "verbose", "v", false, "print every test, its printed output and every file's coverage")
	f.StringVarP(&opts.Run, "run", "r", "", "run only the tests whose full name (data.pkg.test_name) matches this regular expression")
	f.StringVar(&explain, "explain", "", "print each failed test's evaluation trace (every test's with -v): fails, full or notes")
	f.StringVar(&format, "format", formatPretty, "output format: pretty, json or junit (JUnit XML)")
	f.BoolVar(&opts.Bench, "bench", false, "benchmark each test (time, bytes and allocations per evaluation) instead of measuring coverage")
	f.StringSliceVar(&opts.AllowBuiltins, allowBuiltinFlag, nil, allowBuiltinUsage)
	return cmd
}

// errUnformatted is what `verdict fmt --fail` returns when a file is not formatted.
var errUnformatted = errors.New("rego files need formatting")

// fmtFlags are what `verdict fmt` does with each file.
type fmtFlags struct {
	list, write, diff, fail bool
}

// apply does it for one file, src formatted.
func (f fmtFlags) apply(out io.Writer, file string, src, formatted []byte) error {
	if !f.list && !f.write && !f.diff {
		_, err := out.Write(formatted)
		return err
	}
	if bytes.Equal(src, formatted) {
		return nil
	}
	if f.list {
		fmt.Fprintln(out, file)
	}
	if f.diff {
		fmt.Fprint(out, bundle.Diff(file, src, formatted))
	}
	if !f.write {
		return nil
	}
	info, err := os.Stat(file)
	if err != nil {
		return err
	}
	return os.WriteFile(file, formatted, info.Mode().Perm())
}

func newFmtCommand() *cobra.Command {
	var flags fmtFlags
	cmd := &cobra.Command{
		Use:   "fmt paths...",
		Short: "Format Rego files as `opa fmt` does (Rego v1)",
		Long: "Format the given .rego files, and the .rego files under the given directories, with OPA's " +
			"formatter for Rego v1. Without flags the formatted text is printed; --list names the files " +
			"that are not formatted, --diff shows their changes as a unified diff, --write rewrites them. " +
			"--fail exits non-zero when a file is not formatted.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, paths []string) error {
			files, err := bundle.RegoFiles(paths)
			if err != nil {
				return err
			}
			unformatted := 0
			for _, file := range files {
				src, err := os.ReadFile(file)
				if err != nil {
					return err
				}
				formatted, err := bundle.Format(file, src)
				if err != nil {
					return err
				}
				if !bytes.Equal(src, formatted) {
					unformatted++
				}
				if err := flags.apply(cmd.OutOrStdout(), file, src, formatted); err != nil {
					return err
				}
			}
			if flags.fail && unformatted > 0 {
				return fmt.Errorf("%w: %d of %d", errUnformatted, unformatted, len(files))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&flags.list, "list", "l", false, "print the names of files that are not formatted")
	f.BoolVarP(&flags.write, "write", "w", false, "rewrite the files that are not formatted")
	f.BoolVarP(&flags.diff, "diff", "d", false, "print the changes formatting would make, as a unified diff")
	f.BoolVar(&flags.fail, "fail", false, "exit non-zero when a file is not formatted")
	return cmd
}

func newCheckCommand() *cobra.Command {
	var opts bundle.CheckOptions
	cmd := &cobra.Command{
		Use:   "check paths...",
		Short: "Parse and compile Rego files as `opa check` does",
		Long: "Parse and compile the given .rego files, and the .rego files under the given directories, " +
			"together, as serve compiles a bundle (calls of denied builtins included), and print every " +
			"error with its file and line. --strict adds the compiler's strict checks: unused variables, " +
			"imports and function arguments, duplicate imports, deprecated builtins.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, paths []string) error {
			return bundle.Check(paths, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Strict, "strict", false, "enable the compiler's strict checks")
	cmd.Flags().StringSliceVar(&opts.AllowBuiltins, allowBuiltinFlag, nil, allowBuiltinUsage)
	return cmd
}

package main

import (
	"fmt"

	opaversion "github.com/open-policy-agent/opa/v1/version"
	"github.com/spf13/cobra"

	"github.com/verdict-pdp/verdict/pdp/bundle"
)

func newCheckConfigCommand() *cobra.Command {
	var flags configFlags
	cmd := &cobra.Command{
		Use:   "check-config",
		Short: "Validate the configuration (file, VERDICT_* variables, flags) and exit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := flags.load(cmd.Flags())
			if err != nil {
				return err
			}
			if err := cfg.Validate(); err != nil {
				return fmt.Errorf("invalid configuration:\n%w", err)
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), "configuration ok")
			return err
		},
	}
	flags.register(cmd.Flags())
	return cmd
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of Verdict and of the embedded OPA",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "verdict %s (opa %s)\n", version, opaversion.Version)
			return err
		},
	}
}

func newTestCommand() *cobra.Command {
	var opts bundle.TestOptions
	var threshold float64
	var verbose bool
	cmd := &cobra.Command{
		Use:   "test [paths]",
		Short: "Run Rego unit tests with coverage",
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, paths []string) error {
			if len(paths) == 0 {
				paths = []string{"policies"}
			}
			report, err := bundle.RunTests(cmd.Context(), paths, opts)
			if err != nil {
				return err
			}
			report.Write(cmd.OutOrStdout(), verbose)
			if report.Failed() > 0 {
				return fmt.Errorf("%d test(s) failed", report.Failed())
			}
			if report.Coverage < threshold {
				return fmt.Errorf("coverage %.2f%% is below the threshold %.2f%%", report.Coverage, threshold)
			}
			return nil
		},
	}
	cmd.Flags().Float64Var(&threshold, "threshold", 0, "fail when coverage is below this percentage")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print every test")
	return cmd
}

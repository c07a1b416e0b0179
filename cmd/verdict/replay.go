package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/verdict-pdp/verdict/pdp/replay"
)

// replayOptions are verdict replay's flags.
type replayOptions struct {
	configFile   string
	candidate    string
	baseline     string
	format       string
	failOnChange bool
	examples     int
}

func newReplayCommand() *cobra.Command {
	var opts replayOptions
	cmd := &cobra.Command{
		Use:   "replay --bundle CANDIDATE FILE.jsonl",
		Short: "Re-evaluate logged decisions against a candidate bundle and report what would change",
		Long: "Re-evaluate every line of FILE.jsonl (- for standard input) against the candidate bundle and report " +
			"the decisions that flip, allow→deny and deny→allow, grouped by resource type, action and the candidate's " +
			"reasons, with examples. A line is a decision-log event ({\"decision_id\", \"input\", \"result\": {\"allow\"}}), " +
			"compared with its logged result, or a bare policy input, compared with --baseline (default: the configured " +
			"policy.bundle, else the built-in bundle). Lines that cannot be replayed are counted and listed by number. " +
			"With --fail-on-change the exit status is 1 when a decision flipped or a line could not be replayed.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReplay(cmd, opts, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.configFile, "config", "", "YAML configuration file: policy limits, signature verification, and the baseline policy.bundle")
	f.StringVar(&opts.candidate, "bundle", "", "candidate bundle: a directory or a .tar.gz (required)")
	f.StringVar(&opts.baseline, "baseline", "", "bundle that decides bare policy inputs (default: policy.bundle, else built-in)")
	f.StringVar(&opts.format, "format", "text", "report format: text or json")
	f.BoolVar(&opts.failOnChange, "fail-on-change", false, "exit 1 when a decision flipped or a line could not be replayed")
	f.IntVar(&opts.examples, "examples", replay.DefaultExamples, "example lines per group of changes")
	_ = cmd.MarkFlagRequired("bundle")
	return cmd
}

func runReplay(cmd *cobra.Command, opts replayOptions, path string) error {
	if opts.format != "text" && opts.format != "json" {
		return fmt.Errorf("--format must be text or json, not %q", opts.format)
	}
	if opts.examples < 1 {
		return fmt.Errorf("--examples must be at least 1, not %d", opts.examples)
	}
	cfg, err := (&configFlags{file: opts.configFile}).load(pflag.NewFlagSet("replay", pflag.ContinueOnError))
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	policy := cfg.Policy
	policy.Bundle = opts.candidate
	candidate, err := loadSnapshot(cmd.Context(), policy, log)
	if err != nil {
		return fmt.Errorf("candidate: %w", err)
	}
	if opts.baseline != "" {
		cfg.Policy.Bundle = opts.baseline
	}
	baseline, err := loadSnapshot(cmd.Context(), cfg.Policy, log)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	in := cmd.InOrStdin()
	if path != "-" {
		file, err := os.Open(path)
		if err != nil {
			return err
		}
		defer file.Close()
		in = file
	}
	report, err := replay.Run(cmd.Context(), replay.Config{Candidate: candidate, Baseline: baseline, Examples: opts.examples}, in)
	if err != nil {
		return err
	}
	if err := writeReplayReport(cmd, opts.format, report); err != nil {
		return err
	}
	if opts.failOnChange && (report.Changed() || report.Problems > 0) {
		return fmt.Errorf("%d decisions changed (%d allow→deny, %d deny→allow), %d lines not replayed",
			report.AllowToDeny+report.DenyToAllow, report.AllowToDeny, report.DenyToAllow, report.Problems)
	}
	return nil
}

func writeReplayReport(cmd *cobra.Command, format string, r *replay.Report) error {
	if format == "text" {
		return r.WriteText(cmd.OutOrStdout())
	}
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

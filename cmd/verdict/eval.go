package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/verdict-pdp/verdict/pdp/bundledata"
	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/engine"
	"github.com/verdict-pdp/verdict/pdp/request"
)

// The request shapes verdict eval reads (--api).
const (
	apiNative  = "native"
	apiAuthZEN = "authzen"
)

// evalOptions are verdict eval's own flags.
type evalOptions struct {
	inputFile, rawToken string
	api, entrypoint     string
	explain             string
}

func newEvalCommand() *cobra.Command {
	var flags configFlags
	var opts evalOptions
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Evaluate one decision offline and print it with its reasons",
		Long: "Evaluate one decision offline. --input is a JSON file, or - for standard input, holding a request " +
			"as /v1/authorize takes it ({action, resource, context}; \"action\": \"read\" is short for {\"name\": \"read\"}) " +
			"and the subject and token of the policy input (see docs/policies.md), or with --api authzen an AuthZEN " +
			"evaluation as /access/v1/evaluation takes it ({subject, action, resource, context}). With --token the token " +
			"is verified against the configured issuers (and the development issuer with --dev) and replaces the input's " +
			"subject; a refused token is reported with the check that failed and the values it compared. --entrypoint " +
			"prints the value of another rule (verdict/rbac/allow); --explain notes|fails|full prints the evaluation's " +
			"trace after the result, as opa eval --explain does.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := flags.loadValid(cmd.Flags())
			if err != nil {
				return err
			}
			return runEval(cmd, cfg, opts)
		},
	}
	flags.register(cmd.Flags())
	f := cmd.Flags()
	f.StringVar(&opts.inputFile, "input", "-", "input document (JSON file, - for standard input)")
	f.StringVar(&opts.rawToken, "token", "", "access token whose verified claims become the subject (--api native)")
	f.StringVar(&opts.api, "api", apiNative, "request shape of the input: native (/v1/authorize) or authzen (/access/v1/evaluation)")
	f.StringVar(&opts.entrypoint, "entrypoint", "", "rule to evaluate and print instead of the decision, slash separated (verdict/rbac/allow)")
	f.StringVar(&opts.explain, "explain", "", "print the evaluation's trace: notes, fails or full")
	return cmd
}

// check refuses flag values that cannot work together, before anything is loaded.
func (o evalOptions) check() (engine.ExplainMode, error) {
	if o.api != apiNative && o.api != apiAuthZEN {
		return "", fmt.Errorf("--api must be %s or %s, not %q", apiNative, apiAuthZEN, o.api)
	}
	if o.api == apiAuthZEN && o.rawToken != "" {
		return "", errors.New("--token is for --api native: under AuthZEN the request names its subject")
	}
	if o.explain == "" {
		return "", nil
	}
	mode, err := engine.ParseExplainMode(o.explain)
	if err != nil {
		return "", fmt.Errorf("--explain: %w", err)
	}
	return mode, nil
}

func runEval(cmd *cobra.Command, cfg config.Config, opts evalOptions) error {
	mode, err := opts.check()
	if err != nil {
		return err
	}
	data, name, err := readDocument(cmd.InOrStdin(), opts.inputFile)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	snap, err := loadSnapshot(ctx, cfg.Policy, log)
	if err != nil {
		return err
	}
	in, err := evalInput(ctx, snap, cfg, opts, data, log)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	var result any
	var lines []string
	switch {
	case opts.entrypoint != "":
		result, lines, err = evalEntrypoint(ctx, snap, opts.entrypoint, in, mode)
	case mode != "":
		result, lines, err = snap.DecideExplained(ctx, in, mode)
	default:
		result, err = snap.Decide(ctx, in)
	}
	if err != nil {
		printExplanation(cmd.OutOrStdout(), mode, lines)
		return err
	}
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", "  ")
	if err := enc.Encode(result); err != nil {
		return err
	}
	printExplanation(cmd.OutOrStdout(), mode, lines)
	return nil
}

// evalInput builds the policy input from the document in the shape --api names.
func evalInput(ctx context.Context, snap *engine.Snapshot, cfg config.Config, opts evalOptions, data []byte, log *slog.Logger) (*engine.Input, error) {
	if opts.api == apiAuthZEN {
		return request.DecodeEvaluation(ctx, snap, data)
	}
	in, err := nativeInput(data)
	if err != nil || opts.rawToken == "" {
		return in, err
	}
	p, err := verifyOffline(ctx, cfg.Tokens, opts.rawToken, log)
	if err != nil {
		return nil, err
	}
	request.ApplyPrincipal(in, p)
	return in, nil
}

// loadSnapshot activates the bundle policy.Bundle names (the built-in one when empty) in an
// engine of its own, for the commands that evaluate offline, with the data checks serve
// applies, so a bundle serve would refuse is refused here too.
func loadSnapshot(ctx context.Context, policy config.Policy, log *slog.Logger) (*engine.Snapshot, error) {
	eng, err := engine.New(policy, engine.Deps{Logger: log, Check: bundledata.Check})
	if err != nil {
		return nil, err
	}
	if err := activate(ctx, eng, policy, log); err != nil {
		return nil, err
	}
	return eng.Current(), nil
}

// entrypointResult is what --entrypoint prints: the rule and its value, or that it has none.
type entrypointResult struct {
	Entrypoint string `json:"entrypoint"`
	Defined    bool   `json:"defined"`
	Result     any    `json:"result,omitempty"`
}

func evalEntrypoint(ctx context.Context, snap *engine.Snapshot, path string, in *engine.Input, mode engine.ExplainMode) (entrypointResult, []string, error) {
	path = strings.Trim(path, "/")
	v, defined, lines, err := snap.QueryExplained(ctx, path, in, mode)
	return entrypointResult{Entrypoint: path, Defined: defined, Result: v}, lines, err
}

// printExplanation writes the trace after the result, as plain lines.
func printExplanation(w io.Writer, mode engine.ExplainMode, lines []string) {
	if mode == "" {
		return
	}
	_, _ = fmt.Fprintf(w, "\nexplain %s:\n", mode)
	if len(lines) == 0 && mode == engine.ExplainNotes {
		_, _ = fmt.Fprintln(w, "(no notes: the policy wrote none with trace())")
		return
	}
	for _, l := range lines {
		_, _ = fmt.Fprintln(w, l)
	}
}

// readDocument reads the request to evaluate, from path or standard input ("-"), and names
// where it came from for errors.
func readDocument(stdin io.Reader, path string) ([]byte, string, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(io.LimitReader(stdin, 16<<20))
		path = "standard input"
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, path, err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, path, fmt.Errorf("no input on %s: give a JSON request such as "+
			`'{"action":"read","resource":{"type":"document","id":"d1"}}' on standard input, or --input FILE`, path)
	}
	return data, path, nil
}

// nativeInput decodes a native request body as /v1/authorize takes it, with the subject and
// token the policy sees when no --token replaces them.
func nativeInput(data []byte) (*engine.Input, error) {
	in, err := request.DecodeRequest(data)
	if err != nil {
		return nil, err
	}
	var principal struct {
		Subject engine.Subject `json:"subject"`
		Token   *engine.Token  `json:"token"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&principal); err != nil {
		return nil, fmt.Errorf("subject or token: %w", err)
	}
	in.Subject, in.Token = principal.Subject, principal.Token
	return in, nil
}

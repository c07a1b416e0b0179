package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/verdict-pdp/verdict/pdp/engine"
	"github.com/verdict-pdp/verdict/pdp/httpapi"
	"github.com/verdict-pdp/verdict/pdp/token"
)

func newEvalCommand() *cobra.Command {
	var flags configFlags
	var inputFile, rawToken string
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Evaluate one decision offline and print it with its reasons",
		Long: "Evaluate one decision offline. --input is a policy input document (see docs/policies.md) as JSON, " +
			"or - for standard input. With --token the token is verified against the configured issuers " +
			"(and the development issuer with --dev) and replaces the input's subject.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := flags.loadValid(cmd.Flags())
			if err != nil {
				return err
			}
			in, err := readInput(cmd.InOrStdin(), inputFile)
			if err != nil {
				return err
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
			if rawToken != "" {
				verifier, err := token.New(cfg.Tokens, token.Deps{Logger: log, Now: time.Now})
				if err != nil {
					return err
				}
				p, err := verifier.Verify(cmd.Context(), rawToken)
				if err != nil {
					return fmt.Errorf("token: %w", err)
				}
				httpapi.ApplyPrincipal(in, p)
			}
			eng, err := engine.New(cfg.Policy, engine.Deps{Logger: log})
			if err != nil {
				return err
			}
			if err := activate(cmd.Context(), eng, cfg.Policy, log); err != nil {
				return err
			}
			d, err := eng.Decide(cmd.Context(), in)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(d)
		},
	}
	flags.register(cmd.Flags())
	cmd.Flags().StringVar(&inputFile, "input", "-", "input document (JSON file, - for standard input)")
	cmd.Flags().StringVar(&rawToken, "token", "", "access token whose verified claims become the subject")
	return cmd
}

func readInput(stdin io.Reader, path string) (*engine.Input, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(io.LimitReader(stdin, 16<<20))
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var in engine.Input
	if err := dec.Decode(&in); err != nil {
		return nil, fmt.Errorf("input %s: %w", path, err)
	}
	return &in, nil
}

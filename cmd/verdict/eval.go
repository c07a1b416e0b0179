package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/verdict-pdp/verdict/pdp/engine"
	"github.com/verdict-pdp/verdict/pdp/httpapi"
)

func newEvalCommand() *cobra.Command {
	var flags configFlags
	var inputFile, rawToken string
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Evaluate one decision offline and print it with its reasons",
		Long: "Evaluate one decision offline. --input is a JSON file, or - for standard input, holding a request " +
			"as /v1/authorize takes it ({action, resource, context}; \"action\": \"read\" is short for {\"name\": \"read\"}) " +
			"and the subject and token of the policy input (see docs/policies.md). With --token the token is verified against the configured issuers " +
			"(and the development issuer with --dev) and replaces the input's subject; a refused token is " +
			"reported with the check that failed and the values it compared.",
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
				p, err := verifyOffline(cmd.Context(), cfg.Tokens, rawToken, log)
				if err != nil {
					return err
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

// readInput reads the request to evaluate, from path or standard input ("-"): a native
// request body as /v1/authorize takes it, with the subject and token the policy sees when no
// --token replaces them.
func readInput(stdin io.Reader, path string) (*engine.Input, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(io.LimitReader(stdin, 16<<20))
		path = "standard input"
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("no input on %s: give a JSON request such as "+
			`'{"action":"read","resource":{"type":"document","id":"d1"}}' on standard input, or --input FILE`, path)
	}
	in, err := httpapi.DecodeRequest(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var principal struct {
		Subject engine.Subject `json:"subject"`
		Token   *engine.Token  `json:"token"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&principal); err != nil {
		return nil, fmt.Errorf("%s: subject or token: %w", path, err)
	}
	in.Subject, in.Token = principal.Subject, principal.Token
	return in, nil
}

package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	opaversion "github.com/open-policy-agent/opa/v1/version"
	"github.com/spf13/cobra"

	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/token"
)

func newCheckConfigCommand() *cobra.Command {
	var flags configFlags
	var online bool
	cmd := &cobra.Command{
		Use:   "check-config",
		Short: "Validate the configuration (file, VERDICT_* variables, flags) as serve would, and exit",
		Long: "Report every problem serve would refuse the configuration for, each under its key path: " +
			"unknown keys, values of the wrong type, invalid values, and files or directories that do not exist. " +
			"Warnings go to standard error. No remote service is contacted unless --online is given, which " +
			"also fetches every issuer's key set (jwks_url, discovery) as serve would.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := flags.loadValid(cmd.Flags(), checkFiles)
			if err != nil {
				return err
			}
			for _, w := range cfg.Warnings() {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning: "+w)
			}
			if online {
				if err := checkKeySets(cmd.Context(), cfg.Tokens); err != nil {
					return err
				}
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), "configuration ok")
			return err
		},
	}
	flags.register(cmd.Flags())
	flags.registerAddr(cmd.Flags())
	cmd.Flags().BoolVar(&online, "online", false, "also fetch every issuer's key set (jwks_url, discovery)")
	return cmd
}

// checkKeySets fetches the issuers' remote key sets once, for check-config --online.
func checkKeySets(ctx context.Context, cfg config.Tokens) error {
	verifier, err := token.New(cfg, token.Deps{Logger: slog.New(slog.DiscardHandler), Now: time.Now})
	if err != nil {
		return err
	}
	defer verifier.Close()
	if err := verifier.CheckKeySets(ctx); err != nil {
		return fmt.Errorf("online check:\n%w", err)
	}
	return nil
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of Verdict and of the embedded OPA",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprint(cmd.OutOrStdout(), versionLine())
			return err
		},
	}
}

// versionLine is what both `verdict version` and `verdict --version` print.
func versionLine() string {
	return fmt.Sprintf("verdict %s (opa %s)\n", version, opaversion.Version)
}

// allowBuiltinFlag gives `verdict test` and `verdict bundle build` what policy.allow_builtins
// gives serve, so authors see a bundle refused before they deploy it.
const (
	allowBuiltinFlag  = "allow-builtin"
	allowBuiltinUsage = "builtin that reaches outside Verdict (http.send, ...) the policy may call, as policy.allow_builtins (repeatable)"
)

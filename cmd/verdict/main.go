// Command verdict is the Verdict policy decision point: it serves decisions over HTTP, runs,
// formats and checks Rego, evaluates one decision offline, mints development tokens and checks
// configuration. Wiring only; the logic lives under pdp/.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCommand().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "verdict:", err)
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "verdict",
		Short:         "Verdict is a policy decision point that embeds OPA and verifies access tokens itself.",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	// Cobra's --version prints this template; it holds no template actions, so it says exactly
	// what `verdict version` says.
	root.SetVersionTemplate(versionLine())
	root.AddCommand(
		newServeCommand(),
		newTestCommand(),
		newFmtCommand(),
		newCheckCommand(),
		newBundleCommand(),
		newEvalCommand(),
		newReplayCommand(),
		newTokenCommand(),
		newCheckConfigCommand(),
		newVersionCommand(),
	)
	return root
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	opabundle "github.com/open-policy-agent/opa/v1/bundle"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/verdict-pdp/verdict/pdp/audit"
	"github.com/verdict-pdp/verdict/pdp/bundle"
	"github.com/verdict-pdp/verdict/pdp/bundledata"
	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/engine"
	"github.com/verdict-pdp/verdict/pdp/httpapi"
	"github.com/verdict-pdp/verdict/pdp/revocation"
	"github.com/verdict-pdp/verdict/pdp/token"
)

// devDir holds the development issuer's key for serve --dev and token mint.
const devDir = "./.verdict"

func newServeCommand() *cobra.Command {
	var flags configFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve decisions over HTTP",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, devKey, err := flags.loadValid(cmd.Flags())
			if err != nil {
				return err
			}
			log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
			for _, w := range cfg.Warnings() {
				log.Warn("INSECURE: " + w)
			}
			return serve(cmd.Context(), cfg, devKey, log, cmd.ErrOrStderr())
		},
	}
	flags.register(cmd.Flags())
	flags.registerAddr(cmd.Flags())
	return cmd
}

// addDevIssuer trusts the development issuer, creating its key on first use.
func addDevIssuer(cfg *config.Config) (*token.DevKey, error) {
	key, err := token.LoadOrCreateDevKey(devDir)
	if err != nil {
		return nil, fmt.Errorf("development key: %w", err)
	}
	cfg.Tokens.Issuers = append(cfg.Tokens.Issuers, key.Issuer())
	cfg.SetDefaults()
	return key, nil
}

func serve(ctx context.Context, cfg config.Config, devKey *token.DevKey, log *slog.Logger, out io.Writer) error {
	tuneGC(log)
	if cfg.Server.PprofAddr != "" {
		stop, err := startProfiling(cfg.Server.PprofAddr, log)
		if err != nil {
			return fmt.Errorf("server.pprof_addr: %w", err)
		}
		defer stop()
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	eng, err := engine.New(cfg.Policy, engine.Deps{Logger: log, Check: bundledata.Check})
	if err != nil {
		return err
	}
	policy, err := startPolicy(ctx, eng, cfg, reg, log)
	if err != nil {
		return err
	}
	defer policy.Close()
	revocations, err := revocation.Open(ctx, revocation.ConfigFrom(cfg), revocation.Deps{Logger: log, Registry: reg})
	if err != nil {
		return err
	}
	defer closeRevocations(revocations, log)
	verifier, err := token.New(cfg.Tokens, token.Deps{Logger: log, Now: time.Now, Revocation: revocations})
	if err != nil {
		return err
	}
	defer verifier.Close() // stops the background key refreshes; always nil
	decisions, closeLog, err := openDecisionLog(cfg.DecisionLog, log)
	if err != nil {
		return err
	}
	defer closeLog()
	api, err := httpapi.New(cfg, httpapi.Deps{
		Policy: eng, Tokens: verifier, Audit: decisions, Logger: log, Registry: reg, Gatherer: reg,
		Revocations: revocations, Status: policy,
	})
	if err != nil {
		return err
	}
	// gRPC ext_authz: plaintext until server.tls lands, when its *tls.Config goes here.
	stopGRPC, err := startGRPC(ctx, cfg.Server, api, nil, reg, log)
	if err != nil {
		return err
	}
	defer stopGRPC()
	ln, err := net.Listen("tcp", cfg.Server.Addr)
	if err != nil {
		return err
	}
	ln = httpapi.NewListener(ln)
	srv := httpapi.NewHTTPServer(cfg.Server, api, log)
	log.Info("verdict serving", "addr", ln.Addr().String(), "revision", policy.Status().Revision)
	if devKey != nil {
		if err := printDevBanner(out, devKey, ln.Addr().String()); err != nil {
			return err
		}
	}
	return runUntilDone(ctx, srv, api, ln, cfg.Server, log)
}

// closeRevocations closes the revocation store at shutdown, after the server has drained.
func closeRevocations(s *revocation.Store, log *slog.Logger) {
	if err := s.Close(); err != nil {
		log.Warn("revocation store not closed cleanly", "error", err)
	}
}

// startPolicy starts the bundle manager: the first revision now (the configured source, the
// last good one persisted under the data directory, or the built-in bundle), then polling in
// the background until Close.
func startPolicy(ctx context.Context, eng *engine.Engine, cfg config.Config, reg prometheus.Registerer, log *slog.Logger) (*bundle.Manager, error) {
	verifier, err := bundle.LoadVerifier(cfg.Policy.Verification)
	if err != nil {
		return nil, err
	}
	m, err := bundle.NewManager(bundle.ManagerConfig{Policy: cfg.Policy, DataDir: cfg.DataDir}, bundle.ManagerDeps{
		Activate: func(ctx context.Context, b *opabundle.Bundle) error {
			_, err := eng.Activate(ctx, b)
			return err
		},
		Verifier: verifier, Logger: log, Registry: reg,
	})
	if err != nil {
		return nil, err
	}
	if err := m.Start(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// activate loads the configured bundle, or the built-in one, and makes it the serving policy
// once, for commands that do not poll (eval).
func activate(ctx context.Context, eng *engine.Engine, cfg config.Policy, log *slog.Logger) error {
	var b *opabundle.Bundle
	var err error
	source := cfg.Bundle
	if source == "" {
		source = "built-in"
		b, err = bundle.Builtin()
	} else {
		var v *bundle.Verifier
		if v, err = bundle.LoadVerifier(cfg.Verification); err == nil {
			b, err = bundle.Open(cfg.Bundle, bundle.ReadOptions{MaxBytes: cfg.MaxBundleBytes, Verifier: v})
		}
	}
	if err != nil {
		return fmt.Errorf("bundle %s: %w", source, err)
	}
	snap, err := eng.Activate(ctx, b)
	if err != nil {
		return fmt.Errorf("bundle %s: %w", source, err)
	}
	log.Info("policy activated", "source", source, "revision", snap.Revision())
	return nil
}

func openDecisionLog(cfg config.DecisionLog, log *slog.Logger) (*audit.Logger, func(), error) {
	var w io.Writer
	var file *os.File
	switch cfg.Sink {
	case "stdout":
		w = os.Stdout
	case "file":
		f, err := os.OpenFile(cfg.Path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, nil, fmt.Errorf("decision log: %w", err)
		}
		w, file = f, f
	}
	l := audit.New(w, cfg.Buffer, log)
	return l, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := l.Close(ctx); err != nil {
			log.Warn("decision log not flushed", "error", err)
		}
		if file != nil {
			_ = file.Close()
		}
	}, nil
}

// runUntilDone serves until ctx ends, then shuts down without failing a request: for
// server.shutdown_delay it keeps serving with /ready at 503 and each answer closing its
// connection (httpapi.Server.Drain), so load balancers stop sending and clients leave their
// keep-alive connections; then it stops accepting and lets in-flight requests finish within
// server.shutdown_timeout.
func runUntilDone(ctx context.Context, srv *http.Server, api *httpapi.Server, ln net.Listener, cfg config.Server, log *slog.Logger) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	delay := config.ValueOr(cfg.ShutdownDelay, config.DefaultShutdownDelay)
	log.Info("shutting down: /ready answers 503 while requests are still served", "delay", delay)
	api.Drain()
	select {
	case err := <-errc:
		return err
	case <-time.After(delay):
	}
	log.Info("draining in-flight requests", "timeout", cfg.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

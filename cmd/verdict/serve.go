package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	opabundle "github.com/open-policy-agent/opa/v1/bundle"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/verdict-pdp/verdict/pdp/bundle"
	"github.com/verdict-pdp/verdict/pdp/bundledata"
	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/decisionlog"
	"github.com/verdict-pdp/verdict/pdp/engine"
	"github.com/verdict-pdp/verdict/pdp/httpapi"
	"github.com/verdict-pdp/verdict/pdp/outbound"
	"github.com/verdict-pdp/verdict/pdp/revocation"
	"github.com/verdict-pdp/verdict/pdp/token"
	"github.com/verdict-pdp/verdict/pdp/tracing"
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
	flags.registerWatch(cmd.Flags())
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
	tracer, err := tracing.New(ctx, cfg.Tracing, tracing.Deps{Getenv: os.Getenv, Version: version, Logger: log})
	if err != nil {
		return err
	}
	defer shutdownTracing(tracer, log)
	tp := tracer.TracerProvider
	// One client for every outbound call (key sets, introspection, bundles), each a client span.
	client := outbound.NewClient()
	client.Transport = tracing.Transport(tp, client.Transport)

	eng, err := engine.New(cfg.Policy, engine.Deps{Logger: log, Check: bundledata.Check, TracerProvider: tp})
	if err != nil {
		return err
	}
	policy, err := startPolicy(ctx, eng, cfg, reg, log, client)
	if err != nil {
		return err
	}
	defer policy.Close()
	revocations, err := revocation.Open(ctx, revocation.ConfigFrom(cfg), revocation.Deps{Logger: log, Registry: reg})
	if err != nil {
		return err
	}
	defer closeRevocations(revocations, log)
	verifier, err := token.New(cfg.Tokens, token.Deps{Logger: log, Now: time.Now, Revocation: revocations,
		HTTPClient: client, Registry: reg, TracerProvider: tp})
	if err != nil {
		return err
	}
	defer verifier.Close() // stops the background key refreshes; always nil
	decisions, closeLog, err := openDecisionLog(cfg, eng, reg, log)
	if err != nil {
		return err
	}
	defer closeLog()
	api, err := httpapi.New(cfg, httpapi.Deps{
		Policy: eng, Tokens: verifier, DecisionLog: decisions, Logger: log, Registry: reg, Gatherer: reg,
		Revocations: revocations, Status: policy, TracerProvider: tp,
		Dev: devKey != nil,
	})
	if err != nil {
		return err
	}
	tc, err := serverTLS(cfg.Server, log)
	if err != nil {
		return err
	}
	// gRPC ext_authz, with the same TLS settings as the HTTP API.
	stopGRPC, err := startGRPC(ctx, cfg.Server, api, tc, reg, log)
	if err != nil {
		return err
	}
	defer stopGRPC()
	listeners, err := openListeners(cfg.Server, tc, api, log)
	if err != nil {
		return err
	}
	st := policy.Status()
	for _, l := range listeners {
		log.Info("verdict serving", "listener", l.name, "addr", l.ln.Addr().String(), "tls", cfg.Server.TLS != nil,
			"revision", st.Revision, "policy_source", st.Describe())
	}
	if devKey != nil {
		scheme := "http://"
		if cfg.Server.TLS != nil {
			scheme = "https://"
		}
		if err := printDevBanner(out, devKey, scheme+listeners[0].ln.Addr().String(), st); err != nil {
			return err
		}
	}
	return runUntilDone(ctx, listeners, api, cfg.Server, log)
}

// shutdownTracing exports the spans still buffered, after the server has drained.
func shutdownTracing(tp *tracing.Provider, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tp.Shutdown(ctx); err != nil {
		log.Warn("tracing not flushed", "error", err)
	}
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
func startPolicy(ctx context.Context, eng *engine.Engine, cfg config.Config, reg prometheus.Registerer, log *slog.Logger,
	client *http.Client) (*bundle.Manager, error) {
	verifier, err := bundle.LoadVerifier(cfg.Policy.Verification)
	if err != nil {
		return nil, err
	}
	m, err := bundle.NewManager(bundle.ManagerConfig{Policy: cfg.Policy, DataDir: cfg.DataDir}, bundle.ManagerDeps{
		Activate: func(ctx context.Context, b *opabundle.Bundle) error {
			_, err := eng.Activate(ctx, b)
			return err
		},
		Verifier: verifier, Logger: log, Registry: reg, HTTPClient: client,
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

// openDecisionLog starts the decision log; the returned func flushes it within the shutdown
// timeout.
func openDecisionLog(cfg config.Config, eng *engine.Engine, reg prometheus.Registerer, log *slog.Logger) (*decisionlog.Logger, func(), error) {
	l, err := decisionlog.New(cfg.DecisionLog, cfg.DataDir, decisionlog.Deps{
		Logger: log, Registry: reg, Version: version,
		Policy: func() decisionlog.Policy {
			if s := eng.Current(); s != nil {
				return s
			}
			return nil
		},
	})
	if err != nil {
		return nil, nil, err
	}
	return l, func() {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout)
		defer cancel()
		if err := l.Close(ctx); err != nil {
			log.Warn("decision log not flushed", "error", err)
		}
	}, nil
}

// runUntilDone serves until ctx ends, then shuts down without failing a request: for
// server.shutdown_delay it keeps serving with /ready at 503 and each answer closing its
// connection (httpapi.Server.Drain), so load balancers stop sending and clients leave their
// keep-alive connections; then it stops accepting and lets in-flight requests finish within
// server.shutdown_timeout. Every listener is served and shut down alike; one that fails ends
// the others.
func runUntilDone(ctx context.Context, listeners []listener, api *httpapi.Server, cfg config.Server, log *slog.Logger) error {
	errc := make(chan error, len(listeners))
	for _, l := range listeners {
		go func() { errc <- l.srv.Serve(l.ln) }()
	}
	var served error
	select {
	case served = <-errc:
	case <-ctx.Done():
		delay := config.ValueOr(cfg.ShutdownDelay, config.DefaultShutdownDelay)
		log.Info("shutting down: /ready answers 503 while requests are still served", "delay", delay)
		api.Drain()
		select {
		case served = <-errc:
		case <-time.After(delay):
		}
	}
	log.Info("draining in-flight requests", "timeout", cfg.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	for _, l := range listeners {
		if err := l.srv.Shutdown(shutdownCtx); err != nil {
			errs = append(errs, fmt.Errorf("%s listener: %w", l.name, err))
		}
	}
	pending := len(listeners)
	if served != nil {
		pending--
		errs = append(errs, served)
	}
	for range pending {
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

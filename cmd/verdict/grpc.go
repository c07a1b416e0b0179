package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/extauthz"
	"github.com/verdict-pdp/verdict/pdp/httpapi"
)

// startGRPC serves the gRPC ext_authz API at server.grpc_addr over api's forward-auth core,
// with TLS when tlsCfg is set. When ctx ends its health service turns NOT_SERVING while checks
// are still answered (server.shutdown_delay, as /ready); the returned stop then drains it
// within server.shutdown_timeout. With no grpc_addr it does nothing.
func startGRPC(ctx context.Context, cfg config.Server, api *httpapi.Server, tlsCfg *tls.Config, reg prometheus.Registerer,
	log *slog.Logger) (func(), error) {
	if cfg.GRPCAddr == "" {
		return func() {}, nil
	}
	srv, err := extauthz.New(extauthz.Config{DryRun: cfg.GRPCDryRun, HeadersToRemove: cfg.GRPCHeadersToRemove},
		extauthz.Deps{Checker: api.ForwardAuth(), Logger: log, Registry: reg, TLS: tlsCfg})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.GRPCAddr)
	if err != nil {
		return nil, fmt.Errorf("server.grpc_addr: %w", err)
	}
	go func() {
		<-ctx.Done()
		srv.Drain()
	}()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			log.Error("gRPC ext_authz server stopped", "error", err)
		}
	}()
	log.Info("verdict serving gRPC ext_authz", "addr", ln.Addr().String(), "tls", tlsCfg != nil, "dry_run", cfg.GRPCDryRun)
	return func() {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		defer cancel()
		srv.Stop(stopCtx)
		<-done
	}, nil
}

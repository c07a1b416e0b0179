package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"time"
)

// boundedGCPercent is the garbage collector's target when the operator bounds the heap with
// GOMEMLIMIT and sets no GOGC. A decision allocates tens of kilobytes that die at once, over a
// small live heap: collecting at 5x the live heap instead of 2x spends far less CPU on marking
// (docs/performance.md), and the memory limit keeps the larger heap within the container.
const boundedGCPercent = 400

// tuneGC raises the collector's target when a memory limit bounds the heap and the operator
// chose no GOGC. Without a limit Go's own target (GOGC=100) stands, which keeps the heap near
// twice what is live.
func tuneGC(log *slog.Logger) {
	_, gogc := os.LookupEnv("GOGC")
	_, limit := os.LookupEnv("GOMEMLIMIT")
	if gogc || !limit {
		return
	}
	debug.SetGCPercent(boundedGCPercent)
	log.Debug("garbage collector target raised under GOMEMLIMIT", "gogc", boundedGCPercent)
}

// startProfiling serves Go's profiles (/debug/pprof/) on their own listener at addr, apart
// from the API, so a CPU profile of the live server can be taken; request stages carry the
// pprof label "stage" (package stage). It returns a function that stops the listener.
func startProfiling(addr string, log *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("profiling listener stopped", "error", err)
		}
	}()
	log.Warn("profiling endpoints served; keep this address private", "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

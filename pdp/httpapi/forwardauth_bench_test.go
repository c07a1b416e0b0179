package httpapi

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"syscall"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/verdict-pdp/verdict/pdp/extauthz"
)

// checkRequest is the gRPC ext_authz question BenchmarkForwardAuth asks over HTTP: alice reads
// record-1.
func checkRequest() *authv3.CheckRequest {
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Method: "GET", Path: "/records/record-1", Host: "app.test",
			Headers: map[string]string{"authorization": "Bearer alice-token", "x-request-id": "r-1"},
		}},
	}}
}

// newExtAuthz is the gRPC ext_authz service over s's forward-auth core.
func newExtAuthz(b *testing.B, s *Server) *extauthz.Server {
	g, err := extauthz.New(extauthz.Config{}, extauthz.Deps{Checker: s.ForwardAuth(), Logger: slog.New(slog.DiscardHandler),
		Registry: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	return g
}

// BenchmarkCheck is BenchmarkForwardAuth's question through the gRPC ext_authz service's Check
// method in-process: the forward-auth core and the CheckResponse, without the gRPC transport.
func BenchmarkCheck(b *testing.B) {
	g := newExtAuthz(b, newTestServer(&testing.T{}, nil))
	req := checkRequest()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := g.Check(b.Context(), req)
		if err != nil || resp.GetOkResponse() == nil {
			b.Fatalf("check: %v, %v", resp, err)
		}
	}
}

// BenchmarkCheckWire is BenchmarkCheck with the protobuf decoding of the request and encoding
// of the answer that the gRPC transport adds per call (HTTP/2 framing aside).
func BenchmarkCheckWire(b *testing.B) {
	g := newExtAuthz(b, newTestServer(&testing.T{}, nil))
	wire, err := proto.Marshal(checkRequest())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var req authv3.CheckRequest
		if err := proto.Unmarshal(wire, &req); err != nil {
			b.Fatal(err)
		}
		resp, err := g.Check(b.Context(), &req)
		if err != nil || resp.GetOkResponse() == nil {
			b.Fatalf("check: %v, %v", resp, err)
		}
		if _, err := proto.Marshal(resp); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkForwardAuthLoopback asks the same question as BenchmarkForwardAuth and
// BenchmarkCheck over loopback connections, from 16 goroutines: HTTP/1.1 keep-alive to
// /v1/forward-auth as Envoy's HTTP ext_authz does, and gRPC ext_authz on one HTTP/2
// connection. cpu-µs/op is the process's user and system CPU time per check, client included,
// which a busy machine inflates less than ns/op.
func BenchmarkForwardAuthLoopback(b *testing.B) {
	s := newTestServer(&testing.T{}, nil)
	b.Run("http", func(b *testing.B) {
		ts := httptest.NewServer(s)
		defer ts.Close()
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
		url := ts.URL + forwardAuthPath + "/records/record-1"
		loopback(b, func(ctx context.Context) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", "Bearer alice-token")
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("status %d", resp.StatusCode)
			}
			return nil
		})
	})
	b.Run("grpc", func(b *testing.B) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		g := newExtAuthz(b, s)
		go func() { _ = g.Serve(ln) }()
		defer g.Stop(context.Background())
		conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		client := authv3.NewAuthorizationClient(conn)
		req := checkRequest()
		loopback(b, func(ctx context.Context) error {
			resp, err := client.Check(ctx, req)
			if err == nil && resp.GetOkResponse() == nil {
				err = fmt.Errorf("denied: %v", resp.GetDeniedResponse())
			}
			return err
		})
	})
}

// loopback runs check from 16 goroutines and reports the process's CPU time per check.
func loopback(b *testing.B, check func(context.Context) error) {
	b.ReportAllocs()
	b.SetParallelism(16 / runtime.GOMAXPROCS(0))
	cpu0 := processCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := check(b.Context()); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}

// processCPU is the user and system CPU time the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

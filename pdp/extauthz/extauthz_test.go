package extauthz

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/verdict-pdp/verdict/pdp/forwardauth"
	"github.com/verdict-pdp/verdict/pdp/token"
)

// fakeChecker answers every check with one outcome and error, and keeps the requests.
type fakeChecker struct {
	mu      sync.Mutex
	outcome forwardauth.Outcome
	err     error
	got     []forwardauth.Request
}

func (f *fakeChecker) Check(_ context.Context, req forwardauth.Request) (forwardauth.Outcome, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, req)
	return f.outcome, f.err
}

// newServer is New with a discarding logger.
func newServer(t *testing.T, cfg Config, deps Deps) *Server {
	t.Helper()
	deps.Logger = slog.New(slog.DiscardHandler)
	s, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// serve starts s on a loopback listener and returns a client connection to it.
func serve(t *testing.T, s *Server, creds credentials.TransportCredentials) *grpc.ClientConn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { s.Stop(context.Background()) })
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func checkRequest(headers map[string]string) *authv3.CheckRequest {
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source: &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
			SocketAddress: &corev3.SocketAddress{Address: "203.0.113.7"}}}},
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Method: "GET", Path: "/records/record-1?x=1", Host: "app.example.com", Headers: headers,
		}},
	}}
}

// headerMap lists the headers of a response as "key: value" in order.
func headerMap(opts []*corev3.HeaderValueOption) []string {
	var out []string
	for _, o := range opts {
		if o.GetAppendAction() != corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD {
			out = append(out, "not overwriting: "+o.GetHeader().GetKey())
		}
		out = append(out, o.GetHeader().GetKey()+": "+o.GetHeader().GetValue())
	}
	return out
}

// TestCheck pins how each outcome of the core reaches Envoy: the status, the HTTP answer and
// its headers, the dynamic metadata, or the gRPC error status for failure_mode_allow.
func TestCheck(t *testing.T) {
	refused := forwardauth.Outcome{Status: 403, DecisionID: "d1", Revision: "r1", Reason: "denied",
		Refusal: forwardauth.ErrPolicyDenied}
	tests := []struct {
		name     string
		cfg      Config
		outcome  forwardauth.Outcome
		err      error
		code     codes.Code // of the gRPC call
		rpc      codes.Code // of the CheckResponse
		http     int        // of a denied answer
		headers  []string
		remove   []string
		metadata string
	}{
		{name: "allow", cfg: Config{HeadersToRemove: []string{"Authorization"}},
			outcome: forwardauth.Outcome{Allowed: true, Status: 200, DecisionID: "d1", Revision: "r1", Subject: "alice"},
			rpc:     codes.OK, headers: []string{"X-Verdict-Subject: alice", "X-Verdict-Decision-Id: d1"},
			remove: []string{"authorization"}, metadata: "decision_id=d1 revision=r1"},
		{name: "deny", outcome: refused, rpc: codes.PermissionDenied, http: 403,
			headers:  []string{"X-Verdict-Reason: denied", "X-Verdict-Decision-Id: d1"},
			metadata: "decision_id=d1 revision=r1"},
		{name: "no token", outcome: forwardauth.Outcome{Status: 401, Challenge: `Bearer realm="verdict"`, Refusal: token.ErrNoCredentials},
			rpc: codes.Unauthenticated, http: 401, headers: []string{`WWW-Authenticate: Bearer realm="verdict"`}},
		{name: "step-up", outcome: forwardauth.Outcome{Status: 401, DecisionID: "d2", Challenge: `Bearer error="insufficient_user_authentication"`},
			rpc: codes.Unauthenticated, http: 401,
			headers:  []string{`WWW-Authenticate: Bearer error="insufficient_user_authentication"`, "X-Verdict-Decision-Id: d2"},
			metadata: "decision_id=d2"},
		{name: "dry run allows a deny without a subject", cfg: Config{DryRun: true}, outcome: refused, rpc: codes.OK,
			headers: []string{"X-Verdict-Decision-Id: d1"}, remove: []string{"x-verdict-subject"},
			metadata: "decision_id=d1 dry_run_status=403 revision=r1"},
		{name: "no policy", outcome: forwardauth.Outcome{Status: 503}, err: errors.New("no policy"), code: codes.Unavailable},
		{name: "evaluation failed", outcome: forwardauth.Outcome{Status: 500}, err: errors.New("eval"), code: codes.Internal},
		{name: "dry run keeps an error an error", cfg: Config{DryRun: true}, outcome: forwardauth.Outcome{Status: 503},
			err: errors.New("keys offline"), code: codes.Unavailable},
		{name: "cancelled", outcome: forwardauth.Outcome{Status: 503}, err: fmt.Errorf("eval: %w", context.Canceled), code: codes.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeChecker{outcome: tt.outcome, err: tt.err}
			reg := prometheus.NewRegistry()
			s := newServer(t, tt.cfg, Deps{Checker: f, Registry: reg})
			client := authv3.NewAuthorizationClient(serve(t, s, insecure.NewCredentials()))
			resp, err := client.Check(t.Context(), checkRequest(map[string]string{"authorization": "Bearer x"}))
			if got := status.Code(err); got != tt.code {
				t.Fatalf("gRPC status %v (%v), want %v", got, err, tt.code)
			}
			var m dto.Metric
			if err := s.metrics.requests.WithLabelValues(checkMethod, tt.code.String()).Write(&m); err != nil || m.GetCounter().GetValue() != 1 {
				t.Errorf("verdict_grpc_requests_total{code=%q} = %v (%v), want 1", tt.code, m.GetCounter().GetValue(), err)
			}
			if err != nil {
				return
			}
			if got := codes.Code(resp.GetStatus().GetCode()); got != tt.rpc {
				t.Errorf("response status %v, want %v", got, tt.rpc)
			}
			var headers []string
			if tt.http != 0 {
				d := resp.GetDeniedResponse()
				if got := int(d.GetStatus().GetCode()); got != tt.http {
					t.Errorf("HTTP status %d, want %d", got, tt.http)
				}
				headers = headerMap(d.GetHeaders())
			} else {
				ok := resp.GetOkResponse()
				headers = headerMap(ok.GetHeaders())
				if !slices.Equal(ok.GetHeadersToRemove(), tt.remove) {
					t.Errorf("headers to remove %q, want %q", ok.GetHeadersToRemove(), tt.remove)
				}
			}
			if !slices.Equal(headers, tt.headers) {
				t.Errorf("headers %q, want %q", headers, tt.headers)
			}
			if got := flatMetadata(resp); got != tt.metadata {
				t.Errorf("metadata %q, want %q", got, tt.metadata)
			}
		})
	}
}

func flatMetadata(resp *authv3.CheckResponse) string {
	var parts []string
	for k, v := range resp.GetDynamicMetadata().GetFields() {
		s := v.GetStringValue()
		if s == "" {
			s = fmt.Sprint(v.GetNumberValue())
		}
		parts = append(parts, k+"="+s)
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

// TestOriginalRequest checks what the core is asked: the attributes, the peer, and the headers
// of both encodings Envoy uses, a header sent twice kept twice without overwriting the next one
// (the values share one backing array).
func TestOriginalRequest(t *testing.T) {
	req := checkRequest(map[string]string{"authorization": "Bearer x", "x-original-uri": "/a"})
	req.Attributes.Request.Http.HeaderMap = &corev3.HeaderMap{Headers: []*corev3.HeaderValue{
		{Key: "x-forwarded-uri", Value: "/b"}, {Key: "x-after", Value: "z"}, {Key: "x-forwarded-uri", RawValue: []byte("/c")},
		{Key: "x-last", Value: "y"},
	}}
	got := originalRequest(req)
	if got.Endpoint != checkMethod || got.Method != "GET" || got.DefaultMethod != "GET" || got.URI != "/records/record-1?x=1" ||
		got.Host != "app.example.com" || got.Peer != "203.0.113.7" {
		t.Errorf("request %+v", got)
	}
	if got.Header.Get("Authorization") != "Bearer x" || got.Header.Get("X-Original-Uri") != "/a" ||
		!slices.Equal(got.Header.Values("X-Forwarded-Uri"), []string{"/b", "/c"}) || got.Header.Get("X-After") != "z" ||
		got.Header.Get("X-Last") != "y" || len(got.Header) != 5 {
		t.Errorf("headers %v", got.Header)
	}
}

// TestHealthAndTLS serves over TLS with a configuration built here (as server.tls will hand
// one over) and checks that the health service answers SERVING for the server and for the
// Authorization service, and that a plaintext client is refused.
func TestHealthAndTLS(t *testing.T) {
	ts := httptest.NewUnstartedServer(http.NotFoundHandler())
	ts.StartTLS() // for its certificate (127.0.0.1), not to serve
	defer ts.Close()
	f := &fakeChecker{outcome: forwardauth.Outcome{Allowed: true, Status: 200, Subject: "alice"}}
	s := newServer(t, Config{}, Deps{Checker: f, Registry: prometheus.NewRegistry(),
		TLS: &tls.Config{Certificates: ts.TLS.Certificates, MinVersion: tls.VersionTLS12}})
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	conn := serve(t, s, credentials.NewTLS(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}))
	health := healthpb.NewHealthClient(conn)
	for _, svc := range []string{"", authv3.Authorization_ServiceDesc.ServiceName} {
		resp, err := health.Check(t.Context(), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health of %q: %v, %v", svc, resp.GetStatus(), err)
		}
	}
	resp, err := authv3.NewAuthorizationClient(conn).Check(t.Context(), checkRequest(nil))
	if err != nil || resp.GetOkResponse() == nil {
		t.Fatalf("check over TLS: %v, %v", resp, err)
	}

	plain, err := grpc.NewClient(strings.TrimPrefix(conn.Target(), "dns:///"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, err := healthpb.NewHealthClient(plain).Check(t.Context(), &healthpb.HealthCheckRequest{}); status.Code(err) != codes.Unavailable {
		t.Errorf("plaintext client against TLS: %v, want Unavailable", err)
	}
}

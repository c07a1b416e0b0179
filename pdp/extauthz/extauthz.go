// Package extauthz is Verdict's gRPC transport: Envoy's external authorization service
// (envoy.service.auth.v3.Authorization/Check, as Envoy, Istio and Contour call it) and the
// standard gRPC health service. It maps a CheckRequest to a forwardauth.Request and the
// forward-auth core's Outcome to a CheckResponse, nothing more: the route rules, path
// strictness, token verification and decisions are the core's, the same as /v1/forward-auth.
package extauthz

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/verdict-pdp/verdict/pdp/forwardauth"
)

// streamWorkers is how many goroutines answer checks, each reused from one check to the next.
// Without them grpc-go starts a goroutine per check, whose stack then grows again through
// OPA's deep evaluation: a quarter of the server's CPU under load went to copying stacks
// (docs/performance.md). Checks beyond this many at once get a goroutine of their own, as
// before. A waiting worker is handed the next check in turn, and the garbage collector halves
// the stack of a worker it finds waiting, which its next check grows again: so more workers
// than checks in flight cost stack copies too. 16, the in-flight checks of an Envoy or two,
// measured 20-25% less CPU per check than 64 or 8 (BenchmarkForwardAuthLoopback).
const streamWorkers = 16

// checkMethod is the full gRPC method of a check, the endpoint the decision log records.
const checkMethod = "/envoy.service.auth.v3.Authorization/Check"

// Checker is the forward-auth core (forwardauth.Checker).
type Checker interface {
	Check(ctx context.Context, req forwardauth.Request) (forwardauth.Outcome, error)
}

// Config is what the gRPC transport is told by server.grpc_* keys.
type Config struct {
	// DryRun answers allow where the core refuses (401, 403) and logs the real answer.
	DryRun bool
	// HeadersToRemove are request headers Envoy removes before an allowed request goes upstream.
	HeadersToRemove []string
}

// Deps are the collaborators of a Server.
type Deps struct {
	Checker  Checker
	Logger   *slog.Logger
	Registry prometheus.Registerer
	// TLS, when set, is the listener's TLS configuration; nil serves plaintext (for a sidecar
	// on loopback or a mesh that encrypts).
	TLS *tls.Config
}

// Server serves the ext_authz and health services on one gRPC server.
type Server struct {
	authv3.UnimplementedAuthorizationServer
	cfg     Config
	deps    Deps
	grpc    *grpc.Server
	health  *health.Server
	metrics *metrics
}

var _ authv3.AuthorizationServer = (*Server)(nil)

// New builds a Server; Serve starts it.
func New(cfg Config, deps Deps) (*Server, error) {
	m, err := newMetrics(deps.Registry)
	if err != nil {
		return nil, err
	}
	// NumStreamWorkers is experimental in grpc-go; dropping it only costs CPU.
	opts := []grpc.ServerOption{grpc.NumStreamWorkers(streamWorkers), grpc.UnaryInterceptor(m.observe)}
	if deps.TLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(deps.TLS)))
	}
	cfg.HeadersToRemove = lowerAll(cfg.HeadersToRemove)
	s := &Server{cfg: cfg, deps: deps, grpc: grpc.NewServer(opts...), health: health.NewServer(), metrics: m}
	authv3.RegisterAuthorizationServer(s.grpc, s)
	healthpb.RegisterHealthServer(s.grpc, s.health)
	s.health.SetServingStatus(authv3.Authorization_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	if cfg.DryRun {
		deps.Logger.Warn("server.grpc_dry_run is on: the gRPC ext_authz API allows every request the policy refuses")
	}
	return s, nil
}

// Serve serves on ln until Stop.
func (s *Server) Serve(ln net.Listener) error { return s.grpc.Serve(ln) }

// Drain marks both services NOT_SERVING in the health service while checks are still
// answered, so health-checking clients (Envoy's cluster health checks, Kubernetes' gRPC
// probes) stop sending before Stop: the first step of a graceful shutdown.
func (s *Server) Drain() { s.health.Shutdown() }

// Stop drains, then stops accepting and waits for in-flight checks until ctx ends, when it
// closes every connection.
func (s *Server) Stop(ctx context.Context) {
	s.Drain()
	done := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.grpc.Stop()
		<-done
	}
}

// Check answers one ext_authz check: an OK status with headers for the upstream when allowed,
// a denied HTTP response (401 or 403, with the challenge and reason headers) when refused, and
// an error status when Verdict cannot decide, which Envoy handles by its failure_mode_allow.
func (s *Server) Check(ctx context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	o, err := s.deps.Checker.Check(ctx, originalRequest(req))
	if err != nil {
		s.deps.Logger.Error("ext_authz check failed", "method", checkMethod, "status", o.Status, "error", err)
		return nil, errorStatus(o.Status, err)
	}
	if !o.Allowed && s.cfg.DryRun {
		s.deps.Logger.Info("dry run: allowing a refused request", "decision_id", o.DecisionID, "status", o.Status,
			"reason", o.Reason, "error", o.Refusal)
		return s.allow(o), nil
	}
	if !o.Allowed {
		s.deps.Logger.Info("ext_authz check refused", "decision_id", o.DecisionID, "status", o.Status,
			"reason", o.Reason, "error", o.Refusal)
		return deny(o), nil
	}
	return s.allow(o), nil
}

// originalRequest maps a CheckRequest's HTTP attributes to the core's request. Envoy sends
// the headers either as a map (duplicates joined by commas) or, with encode_raw_headers, as a
// list that keeps each copy; both become an http.Header.
func originalRequest(req *authv3.CheckRequest) forwardauth.Request {
	attrs := req.GetAttributes()
	h := attrs.GetRequest().GetHttp()
	return forwardauth.Request{
		Endpoint: checkMethod, Method: h.GetMethod(), URI: h.GetPath(), DefaultMethod: h.GetMethod(),
		Host: h.GetHost(), Peer: attrs.GetSource().GetAddress().GetSocketAddress().GetAddress(), Header: requestHeader(h),
	}
}

// requestHeader is the http.Header of the request's headers. The values share one backing
// array, so a header costs its canonical name and no slice of its own (a repeated header's
// later copies get one).
func requestHeader(h *authv3.AttributeContext_HttpRequest) http.Header {
	pairs := h.GetHeaderMap().GetHeaders()
	n := len(h.GetHeaders()) + len(pairs)
	header := make(http.Header, n)
	values := make([]string, 0, n)
	add := func(k, v string) {
		k = http.CanonicalHeaderKey(k)
		if vs, ok := header[k]; ok {
			header[k] = append(vs, v)
			return
		}
		values = append(values, v)
		header[k] = values[len(values)-1 : len(values) : len(values)]
	}
	for k, v := range h.GetHeaders() {
		add(k, v)
	}
	for _, hv := range pairs {
		v := hv.GetValue()
		if raw := hv.GetRawValue(); len(raw) > 0 {
			v = string(raw)
		}
		add(hv.GetKey(), v)
	}
	return header
}

// allow is the OK answer: the subject and decision id for the upstream, overwriting any the
// client sent, the configured headers removed, and the decision for Envoy's access log. A
// request allowed only by the dry run has no subject: a client's own X-Verdict-Subject is
// removed rather than passed on.
func (s *Server) allow(o forwardauth.Outcome) *authv3.CheckResponse {
	headers := make([]*corev3.HeaderValueOption, 0, 2)
	remove := s.cfg.HeadersToRemove
	if o.Allowed {
		headers = append(headers, overwrite(forwardauth.HeaderSubject, o.Subject))
	} else {
		remove = append(slices.Clip(remove), strings.ToLower(forwardauth.HeaderSubject))
	}
	if o.DecisionID != "" {
		headers = append(headers, overwrite(forwardauth.HeaderDecisionID, o.DecisionID))
	}
	return &authv3.CheckResponse{
		Status: &rpcstatus.Status{Code: int32(codes.OK)},
		HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{
			Headers: headers, HeadersToRemove: remove,
		}},
		DynamicMetadata: metadata(o, s.cfg.DryRun && !o.Allowed),
	}
}

// deny is the refusal Envoy sends the client: the status, the challenge of a 401, the reason
// of a 403 and the decision id.
func deny(o forwardauth.Outcome) *authv3.CheckResponse {
	headers := make([]*corev3.HeaderValueOption, 0, 3)
	if o.Challenge != "" {
		headers = append(headers, overwrite("WWW-Authenticate", o.Challenge))
	}
	if o.Reason != "" {
		headers = append(headers, overwrite(forwardauth.HeaderReason, o.Reason))
	}
	if o.DecisionID != "" {
		headers = append(headers, overwrite(forwardauth.HeaderDecisionID, o.DecisionID))
	}
	code := codes.PermissionDenied
	if o.Status == http.StatusUnauthorized {
		code = codes.Unauthenticated
	}
	return &authv3.CheckResponse{
		Status: &rpcstatus.Status{Code: int32(code)},
		HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: &authv3.DeniedHttpResponse{
			Status:  &typev3.HttpStatus{Code: typev3.StatusCode(o.Status)},
			Headers: headers,
		}},
		DynamicMetadata: metadata(o, false),
	}
}

// metadata is the decision for Envoy's dynamic metadata (%DYNAMIC_METADATA(envoy.filters.http.ext_authz:decision_id)%
// in an access log); dryRun marks an allow that the policy refused, with the refusal's status.
func metadata(o forwardauth.Outcome, dryRun bool) *structpb.Struct {
	fields := map[string]*structpb.Value{}
	if o.DecisionID != "" {
		fields["decision_id"] = structpb.NewStringValue(o.DecisionID)
	}
	if o.Revision != "" {
		fields["revision"] = structpb.NewStringValue(o.Revision)
	}
	if dryRun {
		fields["dry_run_status"] = structpb.NewNumberValue(float64(o.Status))
	}
	if len(fields) == 0 {
		return nil
	}
	return &structpb.Struct{Fields: fields}
}

func overwrite(key, value string) *corev3.HeaderValueOption {
	return &corev3.HeaderValueOption{
		Header:       &corev3.HeaderValue{Key: key, Value: value},
		AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
	}
}

// errorStatus is the gRPC status of a check Verdict could not decide: CANCELLED when the
// caller went away, UNAVAILABLE for a 503 (no active policy, keys or the revocation store out
// of reach: worth retrying), INTERNAL otherwise (a failed evaluation). Envoy treats each as an
// authorization failure and applies failure_mode_allow. The detail stays in the log.
func errorStatus(httpStatus int, err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "the check was cancelled")
	case httpStatus == http.StatusServiceUnavailable:
		return status.Error(codes.Unavailable, "verdict cannot decide right now")
	default:
		return status.Error(codes.Internal, "verdict could not decide")
	}
}

func lowerAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strings.ToLower(n)
	}
	return out
}

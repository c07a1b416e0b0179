// Package httpapi is Verdict's HTTP transport: the gorilla/mux router, request limits and
// decoding, the request-scoped service step (verify the token, build the policy input, decide,
// log) and the one error writer. It evaluates through the narrow Policy interface and never
// imports OPA.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/trace"

	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/decisioncache"
	"github.com/verdict-pdp/verdict/pdp/decisionlog"
	"github.com/verdict-pdp/verdict/pdp/engine"
	"github.com/verdict-pdp/verdict/pdp/forwardauth"
	"github.com/verdict-pdp/verdict/pdp/ratelimit"
	"github.com/verdict-pdp/verdict/pdp/stage"
	"github.com/verdict-pdp/verdict/pdp/token"
	"github.com/verdict-pdp/verdict/pdp/tracing"
)

// Policy decides against the active policy snapshot.
type Policy interface {
	// Decide evaluates in against the snapshot current at the call.
	Decide(ctx context.Context, in *engine.Input) (engine.Decision, error)
	// Current returns the active snapshot, nil before the first activation.
	Current() *engine.Snapshot
}

// Verifier verifies access tokens.
type Verifier interface {
	Verify(ctx context.Context, raw string) (*token.Principal, error)
}

// Deps are the collaborators a Server uses.
type Deps struct {
	Policy Policy
	Tokens Verifier
	// DecisionLog records every decision.
	DecisionLog *decisionlog.Logger
	Logger      *slog.Logger
	Registry    prometheus.Registerer
	Gatherer    prometheus.Gatherer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Revocations records revocations for /v1/revoke and /v1/admin/revocations; nil leaves
	// both endpoints out.
	Revocations Revoker
	// Status reports the bundle manager's state for GET /v1/status; nil leaves it out of the
	// response.
	Status StatusReporter
	// Dev is set by serve --dev: any caller may then ask a decision API for ?explain, which
	// otherwise wants the admin API key.
	Dev bool
	// TracerProvider traces each request as a server span; nil or a no-op provider is off.
	TracerProvider trace.TracerProvider
}

// Server serves Verdict's HTTP API. It is an http.Handler.
type Server struct {
	cfg     config.Config
	deps    Deps
	log     *slog.Logger
	now     func() time.Time
	router  *mux.Router
	handler http.Handler
	metrics *metrics
	tracer  tracing.Tracer
	// decisions reuses decisions of repeated requests; nil when policy.decision_cache_bytes is 0.
	decisions *decisionCache
	// decisionsFor is the newest snapshot the decision cache has served (forgetOlder).
	decisionsFor atomic.Pointer[engine.Snapshot]
	// forward is the forward-auth core of /v1/forward-auth, shared with the gRPC ext_authz
	// service (ForwardAuth).
	forward *forwardauth.Checker
	// draining is set by Drain: /ready answers 503 while everything else is still served.
	draining atomic.Bool
	// admin routes the operators' endpoints: router itself, or a router of its own when
	// server.admin_addr is set; adminHandler serves it then.
	admin        *mux.Router
	adminHandler http.Handler
	// limiter is server.rate_limit's buckets; nil when rate limits are off.
	limiter *ratelimit.Limiter
}

var _ http.Handler = (*Server)(nil)

// New builds a Server from a validated configuration.
func New(cfg config.Config, deps Deps) (*Server, error) {
	m, err := newMetrics(deps.Registry)
	if err != nil {
		return nil, err
	}
	if err := registerGauges(deps.Registry, deps); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, deps: deps, log: deps.Logger, now: deps.Now, metrics: m,
		tracer: tracing.NewTracer(deps.TracerProvider, "github.com/verdict-pdp/verdict/pdp/httpapi")}
	if s.now == nil {
		s.now = time.Now
	}
	if n := config.ValueOr(cfg.Policy.DecisionCacheBytes, config.DefaultDecisionCacheBytes); n > 0 {
		if s.decisions, err = decisioncache.New[token.Principal, outcome](n); err != nil {
			return nil, err
		}
		if err := registerDecisionCache(deps.Registry, s.decisions); err != nil {
			return nil, err
		}
	}
	if rl := cfg.Server.RateLimit; rl != nil {
		if s.limiter, err = ratelimit.New(rl.Rate, rl.Burst, rl.MaxKeys, s.now); err != nil {
			return nil, err
		}
	}
	s.router = s.newRouter()
	s.admin = s.router
	if cfg.Server.AdminAddr != "" {
		s.admin = s.newRouter()
		s.adminHandler = s.chain(s.admin)
	}
	s.routes()
	s.handler = s.chain(s.withCORS(s.withAddrRateLimit(s.router)))
	return s, nil
}

// newRouter returns an empty router. SkipClean: the router must not answer 301 to a cleaned
// path. Forward auth reads the path as sent (Envoy puts the original below /v1/forward-auth/)
// and refuses dot segments itself; a redirect would reach the client through the proxy
// instead of a 403.
func (s *Server) newRouter() *mux.Router {
	r := mux.NewRouter().SkipClean(true)
	r.Use(nameRoute)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { s.writeError(w, req, errNotFound) })
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s.writeError(w, req, errMethodNotAllow)
	})
	return r
}

// chain wraps a router in the middleware every listener has.
func (s *Server) chain(h http.Handler) http.Handler {
	return withRequestID(s.withDrain(s.withFraming(withTLSState(s.withRecovery(s.withTelemetry(h))))))
}

// AdminHandler serves the operators' endpoints (/metrics, /v1/status, /v1/admin/*, /health,
// /ready) on the listener at server.admin_addr; it is nil when admin_addr is not set and the
// main handler serves them.
func (s *Server) AdminHandler() http.Handler { return s.adminHandler }

func (s *Server) routes() {
	r := s.router
	r.HandleFunc("/v1/authorize", s.handleAuthorize).Methods(http.MethodPost)
	r.HandleFunc("/v1/authorize/batch", s.handleAuthorizeBatch).Methods(http.MethodPost)
	std := newStandardAPIs(s)
	s.forward = forwardauth.New(forwardauth.Deps{Service: std})
	r.HandleFunc(pathEvaluation, std.handleEvaluation).Methods(http.MethodPost)
	r.HandleFunc(pathEvaluations, std.handleEvaluations).Methods(http.MethodPost)
	r.HandleFunc(pathSearchSubject, std.handleSearchSubject).Methods(http.MethodPost)
	r.HandleFunc(pathSearchResource, std.handleSearchResource).Methods(http.MethodPost)
	r.HandleFunc(pathSearchAction, std.handleSearchAction).Methods(http.MethodPost)
	r.HandleFunc(pathAuthZENConfig, std.handleMetadata).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(dataAPIPrefix+"{path:.+}", std.handleData).Methods(http.MethodGet, http.MethodPost)
	r.HandleFunc(forwardAuthPath, std.handleForwardAuth)
	r.HandleFunc(forwardAuthPath+"/{path:.*}", std.handleForwardAuth)
	s.revocationRoutes()
	for _, rt := range slices.Compact([]*mux.Router{r, s.admin}) {
		rt.HandleFunc("/health", s.handleHealth).Methods(http.MethodGet, http.MethodHead)
		rt.HandleFunc("/ready", s.handleReady).Methods(http.MethodGet, http.MethodHead)
	}
	s.admin.HandleFunc("/v1/status", s.handleStatus).Methods(http.MethodGet, http.MethodHead)
	s.admin.Handle("/metrics", promhttp.HandlerFor(s.deps.Gatherer, promhttp.HandlerOpts{})).Methods(http.MethodGet)
}

// Walk calls fn for every registered route, of the admin listener's router too, so the API
// description (docs/openapi.yaml) can be checked against what is served.
func (s *Server) Walk(fn mux.WalkFunc) error {
	if err := s.router.Walk(fn); err != nil || s.admin == s.router {
		return err
	}
	return s.admin.Walk(fn)
}

// ServeHTTP serves one request through the middleware chain and the router. The handlers mark
// each step of the request for CPU profiles (package stage); what runs outside them, the
// server's reading and writing included, is marked stage.HTTP.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	stage.Enter(stage.HTTP)
	defer stage.Enter(stage.HTTP)
	s.handler.ServeHTTP(w, r)
}

// NewHTTPServer wraps h in an http.Server with every timeout and the header limit set. Serve it
// on a listener from NewListener, so requests with ambiguous framing are refused.
func NewHTTPServer(cfg config.Server, h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Addr:              cfg.Addr,
		Handler:           h,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ConnContext:       withFramingConn,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

func (s *Server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// Drain marks the server as going away: from now on /ready answers 503 shutting_down, so load
// balancers stop sending, while every other request is still served, each answer with
// Connection: close so clients leave their keep-alive connections. It is the first step of a
// graceful shutdown, before http.Server.Shutdown. (http.Server.SetKeepAlivesEnabled(false)
// would close idle connections at once, under a client that is sending on one.)
func (s *Server) Drain() { s.draining.Store(true) }

// withDrain closes each connection after its answer once Drain was called.
func (s *Server) withDrain(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.draining.Load() {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		s.writeError(w, r, errShuttingDown)
		return
	}
	snap := s.deps.Policy.Current()
	if snap == nil {
		s.writeError(w, r, engine.ErrNoPolicy)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready", "revision": snap.Revision()})
}

type metrics struct {
	requests        *prometheus.CounterVec
	latency         *prometheus.HistogramVec
	decisions       *prometheus.CounterVec
	decisionLatency *prometheus.HistogramVec
	// rateLimited counts requests refused by server.rate_limit.
	rateLimited prometheus.Counter
	// byResult and byRoute are the series of decisions and decisionLatency, resolved once
	// (by result, and by the route template of each decision API), not by label per request.
	byResult map[string]prometheus.Counter
	byRoute  map[string]prometheus.Observer
}

// Decision results: the result label of verdict_decisions_total.
const (
	resultAllow     = "allow"
	resultDeny      = "deny"
	resultError     = "error"
	resultCancelled = "cancelled"
)

// decisionAPIs names the API of each route template that answers decisions, the api label of
// verdict_decision_duration_seconds. Read-only.
var decisionAPIs = map[string]string{
	"/v1/authorize":                "authorize",
	"/v1/authorize/batch":          "authorize_batch",
	pathEvaluation:                 "evaluation",
	pathEvaluations:                "evaluations",
	pathSearchSubject:              "search",
	pathSearchResource:             "search",
	pathSearchAction:               "search",
	dataAPIPrefix + "{path:.+}":    "data",
	forwardAuthPath:                "forward_auth",
	forwardAuthPath + "/{path:.*}": "forward_auth",
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "verdict_http_requests_total", Help: "HTTP requests by route template and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "verdict_http_request_duration_seconds", Help: "HTTP request latency by route template.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}, []string{"route"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "verdict_decisions_total", Help: "Decisions by result: allow, deny or error.",
		}, []string{"result"}),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "verdict_rate_limited_total", Help: "Requests refused with 429 because their client was over server.rate_limit.",
		}),
		decisionLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "verdict_decision_duration_seconds",
			Help:    "Time to answer a decision request, token verification included, by API; 0.2 s is a bucket bound for the p99 objective.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .2, .5, 1, 2.5},
		}, []string{"api"}),
	}
	// Every result is exported from the start at 0: an alert on increase() of the errors sees
	// the first one, which a series born at 1 would hide.
	m.byResult = make(map[string]prometheus.Counter)
	for _, r := range []string{resultAllow, resultDeny, resultError, resultCancelled} {
		m.byResult[r] = m.decisions.WithLabelValues(r)
	}
	m.byRoute = make(map[string]prometheus.Observer, len(decisionAPIs))
	for route, api := range decisionAPIs {
		m.byRoute[route] = m.decisionLatency.WithLabelValues(api)
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.decisions, m.decisionLatency, m.rateLimited} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// registerDecisionCache exposes the decision cache's counters, read at scrape time.
func registerDecisionCache(reg prometheus.Registerer, c *decisionCache) error {
	for _, m := range []struct {
		name, help string
		pick       func(decisioncache.Stats) float64
	}{
		{"verdict_decision_cache_hits_total", "Decisions reused from the decision cache instead of evaluated.",
			func(st decisioncache.Stats) float64 { return float64(st.Hits) }},
		{"verdict_decision_cache_misses_total", "Decision cache lookups that found no reusable decision.",
			func(st decisioncache.Stats) float64 { return float64(st.Misses) }},
	} {
		if err := reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: m.name, Help: m.help},
			func() float64 { return m.pick(c.Stats()) })); err != nil {
			return err
		}
	}
	return reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "verdict_decision_cache_bytes", Help: "Bytes the decision cache holds (bounded by policy.decision_cache_bytes).",
	}, func() float64 { return float64(c.Stats().Bytes) }))
}

// registerGauges exposes counters that other components keep (token cache hits and misses),
// read at scrape time so the hot path pays nothing for them. The decision log registers its own.
func registerGauges(reg prometheus.Registerer, deps Deps) error {
	var collectors []prometheus.Collector
	if ts, ok := deps.Tokens.(tokenStats); ok {
		cache := func(pick func(token.CacheStats) uint64) func() float64 {
			return func() float64 { return float64(pick(ts.Stats().Cache)) }
		}
		collectors = append(collectors,
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "verdict_token_cache_hits_total", Help: "Verified-token cache hits.",
			}, cache(func(c token.CacheStats) uint64 { return c.Hits })),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "verdict_token_cache_misses_total", Help: "Verified-token cache misses (each one a full verification).",
			}, cache(func(c token.CacheStats) uint64 { return c.Misses })),
		)
	}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	opabundle "github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/topdown/cache"
	"go.opentelemetry.io/otel/trace"

	vbundle "github.com/verdict-pdp/verdict/pdp/bundle"
	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/tracing"
)

// Deps are the engine's collaborators.
type Deps struct {
	// Logger receives activation events; nil discards them.
	Logger *slog.Logger
	// Check, when set, vets every snapshot after it is built and before it is published: an
	// error refuses the revision as a compile error would. It reads the snapshot's data the
	// way requests will (bundledata.Check), so data of the wrong shape is found at activation,
	// not by every request.
	Check func(ctx context.Context, s *Snapshot) error
	// TracerProvider traces each evaluation as a span; nil or a no-op provider is off.
	TracerProvider trace.TracerProvider
}

// Engine evaluates decisions against the current Snapshot and builds new snapshots from
// bundles. It is safe for concurrent use: Decide never waits for Activate, and a request
// sees one snapshot from start to end.
type Engine struct {
	cfg        config.Policy
	log        *slog.Logger
	check      func(ctx context.Context, s *Snapshot) error
	entrypoint ast.Ref
	caches     caches
	builtins   *vbundle.Builtins
	tracer     tracing.Tracer

	current atomic.Pointer[Snapshot]
	// activating serializes Activate, so a slow build cannot publish over a newer one.
	activating sync.Mutex
}

// caches are OPA's inter-query caches, bounded from config. They belong to the engine, not to
// a snapshot: every entry is keyed by what it was computed from (an http.send request, a regex
// or glob pattern, a key set), never by policy, so it stays right across revisions. One
// instance keeps the memory bound global while old snapshots still finish in-flight requests,
// and a new revision starts with warm caches instead of a burst of misses.
type caches struct {
	builtin cache.InterQueryCache
	value   cache.InterQueryValueCache
}

// New returns an engine for the given policy configuration, with no snapshot yet: Decide
// returns ErrNoPolicy until the first successful Activate. Unset keys take their defaults.
func New(cfg config.Policy, deps Deps) (*Engine, error) {
	cfg.SetDefaults()
	if cfg.DecisionTimeout <= 0 {
		return nil, fmt.Errorf("engine: decision timeout must be positive, got %s", cfg.DecisionTimeout)
	}
	if cfg.InterQueryCacheBytes < 0 || cfg.ValueCacheEntries < 0 {
		return nil, errors.New("engine: cache bounds must not be negative")
	}
	ref, err := pathRef(cfg.Entrypoint)
	if err != nil || len(ref) == 1 {
		return nil, fmt.Errorf("engine: entrypoint %q must be a slash-separated rule path like verdict/authz/decision", cfg.Entrypoint)
	}
	builtins, err := vbundle.NewBuiltins(cfg.AllowBuiltins)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Engine{cfg: cfg, log: log, check: deps.Check, entrypoint: ref, caches: newCaches(cfg), builtins: builtins,
		tracer: tracing.NewTracer(deps.TracerProvider, "github.com/verdict-pdp/verdict/pdp/engine")}, nil
}

func newCaches(cfg config.Policy) caches {
	maxBytes := cfg.InterQueryCacheBytes
	maxEntries := cfg.ValueCacheEntries
	threshold := int64(100) // start FIFO eviction only when the cache is full
	conf := &cache.Config{
		InterQueryBuiltinCache: cache.InterQueryBuiltinCacheConfig{
			MaxSizeBytes:                      &maxBytes,
			ForcedEvictionThresholdPercentage: &threshold,
		},
		InterQueryBuiltinValueCache: cache.InterQueryBuiltinValueCacheConfig{MaxNumEntries: &maxEntries},
	}
	return caches{
		// NewInterQueryCache, not ...WithContext: stale entries are then dropped on read and
		// by size-bound eviction, with no background goroutine for the engine to stop.
		builtin: cache.NewInterQueryCache(conf),
		value:   cache.NewInterQueryValueCache(context.Background(), conf),
	}
}

// pathRef turns a slash-separated path (verdict/authz/decision; "" for all of data) into a
// reference under data.
func pathRef(path string) (ast.Ref, error) {
	path = strings.Trim(path, "/")
	if path == "" {
		return ast.Ref{ast.DefaultRootDocument}, nil
	}
	p, ok := storage.ParsePathEscaped("/" + path)
	if !ok {
		return nil, fmt.Errorf("bad path %q", path)
	}
	for _, seg := range p {
		if seg == "" {
			return nil, fmt.Errorf("bad path %q: empty segment", path)
		}
	}
	return p.Ref(ast.DefaultRootDocument), nil
}

// Activate builds a complete snapshot from b, off the request path, and publishes it as the
// current one. On any error (a call of a builtin that reaches outside Verdict and that
// policy.allow_builtins does not name, compile error, an entrypoint no rule defines, a failed
// prepare, a refusal of Deps.Check) the current snapshot keeps serving and is left untouched.
// Activate takes the bundle's data: b.Data is converted into the snapshot's store in place, its
// maps emptied as they are converted, so a large bundle is not held twice over; the caller must
// not read b.Data afterwards. The rest of the bundle is only read, and activating it again works.
func (e *Engine) Activate(ctx context.Context, b *opabundle.Bundle) (*Snapshot, error) {
	e.activating.Lock()
	defer e.activating.Unlock()

	start := time.Now()
	s, err := e.build(ctx, b)
	if err == nil && e.check != nil {
		if err = e.check(ctx, s); err != nil {
			err = fmt.Errorf("activate revision %s: %w", s.revision, err)
		}
	}
	if err != nil {
		e.log.Warn("policy activation failed", "error", err)
		return nil, err
	}
	s.activatedAt = time.Now()
	e.current.Store(s)
	e.log.Info("policy activated", "revision", s.revision, "modules", len(b.Modules),
		"build_duration", s.activatedAt.Sub(start))
	return s, nil
}

// Current returns the snapshot that serves decisions now, or nil before the first activation.
func (e *Engine) Current() *Snapshot {
	return e.current.Load()
}

// Decide evaluates in against the current snapshot. Before the first activation it returns a
// deny and ErrNoPolicy.
func (e *Engine) Decide(ctx context.Context, in *Input) (Decision, error) {
	s := e.current.Load()
	if s == nil {
		return denial(""), ErrNoPolicy
	}
	return s.Decide(ctx, in)
}

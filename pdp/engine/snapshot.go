package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/open-policy-agent/opa/v1/ast"
	opabundle "github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/topdown"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	vbundle "github.com/verdict-pdp/verdict/pdp/bundle"
	"github.com/verdict-pdp/verdict/pdp/stage"
	"github.com/verdict-pdp/verdict/pdp/tracing"
)

// bundleName is the name the bundle is activated under (module ids, /system/bundles/<name>).
const bundleName = "verdict"

// queryCacheSize bounds the prepared queries (and paths that fail to compile) a snapshot keeps
// for Query, one per path.
const queryCacheSize = 128

// Snapshot is one activated bundle revision: its store, compiler and prepared decision query.
// It never changes once published; a new revision is a new Snapshot.
type Snapshot struct {
	revision    string
	activatedAt time.Time
	timeout     time.Duration
	caches      caches
	store       storage.Store
	compiler    *ast.Compiler
	decision    rego.PreparedEvalQuery
	queries     *lru.Cache[string, preparedQuery]
	// facts are what the decision's rules do, found at activation.
	facts facts
	// tracer is the engine's, for the evaluation span.
	tracer tracing.Tracer
	// logRules are the bundle's data.system.log rules, prepared at activation.
	logRules logRules
}

// Repeatable reports whether two decisions on equal inputs with equal Now are always equal in
// this snapshot: no rule the decision depends on calls a non-deterministic builtin
// (http.send, rand.intn, uuid.rfc4122, net.lookup_ip_addr, io.jwt.decode_verify, ...) apart
// from time.now_ns, which Input.Now pins. Only then may a caller reuse a decision instead of
// evaluating again.
func (s *Snapshot) Repeatable() bool { return s.facts.repeatable }

// ReadsClock reports whether the decision may depend on the time: some rule it depends on
// calls time.now_ns or may read input.context.time. When it does not, a repeatable decision
// stays right whatever the time, not only within its second.
func (s *Snapshot) ReadsClock() bool { return s.facts.readsClock }

// Revision returns the revision of the bundle the snapshot was built from.
func (s *Snapshot) Revision() string { return s.revision }

// ActivatedAt returns when the snapshot became the serving one.
func (s *Snapshot) ActivatedAt() time.Time { return s.activatedAt }

// build turns b into a snapshot: a fresh store with the bundle activated into it, the
// entrypoint checked and the decision query prepared.
func (e *Engine) build(ctx context.Context, b *opabundle.Bundle) (*Snapshot, error) {
	if b == nil {
		return nil, errors.New("activate: no bundle")
	}
	revision := vbundle.Revision(b)
	if err := e.builtins.Check(b); err != nil {
		return nil, fmt.Errorf("activate revision %s: %w", revision, err)
	}
	store, compiler, err := load(ctx, b, e.builtins.Capabilities())
	if err != nil {
		return nil, fmt.Errorf("activate revision %s: %w", revision, err)
	}
	// An entrypoint no rule defines would be undefined for every input: a policy that denies
	// everything by accident. Refuse it here rather than serve it.
	if len(compiler.GetRules(e.entrypoint)) == 0 {
		return nil, fmt.Errorf("activate revision %s: entrypoint %s is not defined by any rule in the bundle", revision, e.entrypoint)
	}
	queries, err := lru.New[string, preparedQuery](queryCacheSize)
	if err != nil {
		return nil, fmt.Errorf("activate revision %s: %w", revision, err)
	}
	s := &Snapshot{
		facts:    decisionFacts(compiler, e.entrypoint),
		revision: revision,
		timeout:  e.cfg.DecisionTimeout,
		caches:   e.caches,
		store:    store,
		compiler: compiler,
		queries:  queries,
		tracer:   e.tracer,
	}
	if s.decision, err = s.prepare(ctx, e.entrypoint); err != nil {
		return nil, fmt.Errorf("activate revision %s: prepare %s: %w", revision, e.entrypoint, err)
	}
	if err := s.prepareLogRules(ctx); err != nil {
		return nil, fmt.Errorf("activate revision %s: %w", revision, err)
	}
	return s, nil
}

// load activates b into a fresh store in one write transaction: data written under the
// manifest roots, modules compiled as Rego v1 against caps, path conflicts between data and
// rules checked. It takes b's data (see takeData): b.Data must not be read afterwards.
func load(ctx context.Context, b *opabundle.Bundle, caps *ast.Capabilities) (storage.Store, *ast.Compiler, error) {
	if b.Manifest.Roots == nil {
		// Only a bundle built by hand lacks roots (the reader fills them in); OPA would
		// dereference them, so give it the default, every path, on a copy.
		cp := *b
		cp.Manifest.Init()
		b = &cp
	}
	if err := takeData(b.Data, *b.Manifest.Roots); err != nil {
		return nil, nil, err
	}
	// The store keeps AST values, which spares every evaluation converting data; it converts
	// what is written to it (OPA then skips its round trip on write), and takeData has already
	// done so.
	store := inmem.NewWithOpts(inmem.OptReturnASTValuesOnRead(true))
	compiler := ast.NewCompiler().WithDefaultRegoVersion(ast.RegoV1).WithCapabilities(caps)
	err := storage.Txn(ctx, store, storage.WriteParams, func(txn storage.Transaction) error {
		return opabundle.Activate(&opabundle.ActivateOpts{
			Ctx:           ctx,
			Store:         store,
			Txn:           txn,
			Compiler:      compiler,
			Metrics:       metrics.NoOp(),
			Bundles:       map[string]*opabundle.Bundle{bundleName: b},
			ParserOptions: ast.ParserOptions{RegoVersion: ast.RegoV1},
		})
	})
	if err != nil {
		return nil, nil, err
	}
	return store, compiler, nil
}

// takeData converts the value at each root of data to the AST form the store keeps, in place,
// so the store takes it as it is. Objects are converted member by member and each member is
// deleted from its Go map once converted: the Go tree is given up as the AST grows, so the
// data is never held twice over, and nothing in the store is shared with a mutable Go value.
// A root data does not reach is left for OPA to report; values already converted are kept.
func takeData(data map[string]any, roots []string) error {
	for _, root := range roots {
		path, ok := storage.ParsePathEscaped("/" + root)
		if !ok {
			continue
		}
		if len(path) == 0 {
			for k, v := range data {
				val, err := toAST(v)
				if err != nil {
					return err
				}
				data[k] = val
			}
			continue
		}
		parent := data
		for _, seg := range path[:len(path)-1] {
			if parent, ok = parent[seg].(map[string]any); !ok {
				break
			}
		}
		if v, found := parent[path[len(path)-1]]; ok && found {
			val, err := toAST(v)
			if err != nil {
				return err
			}
			parent[path[len(path)-1]] = val
		}
	}
	return nil
}

// toAST converts v as ast.InterfaceToValue does, emptying the maps it converts.
func toAST(v any) (ast.Value, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return ast.InterfaceToValue(v)
	}
	obj := ast.NewObjectWithCapacity(len(m))
	for k, x := range m {
		val, err := toAST(x)
		if err != nil {
			return nil, err
		}
		obj.Insert(ast.InternedTerm(k), ast.NewTerm(val))
		delete(m, k)
	}
	return obj, nil
}

func (s *Snapshot) prepare(ctx context.Context, ref ast.Ref) (rego.PreparedEvalQuery, error) {
	return rego.New(
		rego.ParsedQuery(ast.NewBody(ast.NewExpr(ast.NewTerm(ref)))),
		rego.Compiler(s.compiler),
		rego.Store(s.store),
		rego.SetRegoVersion(ast.RegoV1),
	).PrepareForEval(ctx)
}

// Decide evaluates in against this snapshot within the decision timeout. Every outcome
// carries the snapshot's revision. Anything but an allow from the policy is a deny: with
// ErrTimeout when the timeout fired, ErrEvaluation for everything else, together with
// ErrInvalidInput for a bad input and with context.Canceled when ctx was cancelled (the caller
// went away). The evaluation error is in the returned error only, never in Reasons. With
// tracing on, the evaluation is a span carrying the revision and the outcome.
func (s *Snapshot) Decide(ctx context.Context, in *Input) (Decision, error) {
	ctx, span := s.tracer.Start(ctx, "verdict.policy.eval", trace.SpanKindInternal)
	d, err := s.decide(ctx, in)
	if span.IsRecording() {
		span.SetAttributes(attribute.String("verdict.policy.revision", s.revision), attribute.Bool("verdict.decision.allow", d.Allow))
		if err != nil {
			tracing.Fail(span, evalFailure(err))
		}
	}
	span.End()
	return d, err
}

// evalFailure is the span status of a failed evaluation: its class, never OPA's text.
func evalFailure(err error) string {
	switch {
	case errors.Is(err, ErrTimeout):
		return "timeout"
	case errors.Is(err, ErrInvalidInput):
		return "invalid input"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	default:
		return "evaluation failed"
	}
}

func (s *Snapshot) decide(ctx context.Context, in *Input) (Decision, error) {
	stage.Enter(stage.Input)
	input, err := inputValue(in)
	if err != nil {
		return denial(s.revision), err
	}
	stage.Enter(stage.Eval)
	rs, err := s.eval(ctx, s.decision, input, timeOf(in)...)
	if err != nil {
		return denial(s.revision), err
	}
	return decisionFrom(rs, s.revision)
}

// eval runs a prepared query with the snapshot's caches, bounded by the decision timeout.
func (s *Snapshot) eval(ctx context.Context, pq rego.PreparedEvalQuery, input ast.Value, extra ...rego.EvalOption) (rego.ResultSet, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	// OPA stops an evaluation only through a topdown.Cancel. Left to itself, rego starts a
	// goroutine per evaluation to watch ctx; AfterFunc does the same without one.
	halt := topdown.NewCancel()
	stop := context.AfterFunc(ctx, halt.Cancel)
	defer stop()

	opts := []rego.EvalOption{
		rego.EvalExternalCancel(halt),
		rego.EvalInterQueryBuiltinCache(s.caches.builtin),
		rego.EvalInterQueryBuiltinValueCache(s.caches.value),
		// Nothing reads per-evaluation metrics; without this rego allocates a registry and
		// timers for every decision.
		rego.EvalMetrics(metrics.NoOp()),
	}
	if input != nil {
		opts = append(opts, rego.EvalParsedInput(input))
	}
	opts = append(opts, extra...)
	rs, err := pq.Eval(ctx, opts...)
	// A short evaluation can finish before the halt reaches it: an answer given after the
	// deadline, or to a caller already gone, is not given at all.
	if err == nil && ctx.Err() == nil {
		return rs, nil
	}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return nil, fmt.Errorf("%w (limit %s)", ErrTimeout, s.timeout)
	case ctx.Err() != nil:
		// Cancelled: the caller went away. Keep context.Canceled in the chain so the transport
		// can tell a gone client from a policy that failed.
		return nil, fmt.Errorf("%w: %w", ErrEvaluation, ctx.Err())
	default:
		return nil, fmt.Errorf("%w: %w", ErrEvaluation, err)
	}
}

package httpapi

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/verdict-pdp/verdict/pdp/decisioncache"
	"github.com/verdict-pdp/verdict/pdp/decisionlog"
	"github.com/verdict-pdp/verdict/pdp/engine"
	"github.com/verdict-pdp/verdict/pdp/stage"
	"github.com/verdict-pdp/verdict/pdp/token"
)

// Kinds of request keys in the decision cache: which API built the input from the bytes.
const (
	// keyNative is a /v1/authorize body or one item of /v1/authorize/batch.
	keyNative byte = iota + 1
)

// decisionCache keeps decisions by principal, request bytes and second (package decisioncache).
type decisionCache = decisioncache.Cache[token.Principal, outcome]

// outcome is a decision and the input it was made on, which is all a reused decision needs:
// its own id, count and log record are made per request, and its log record carries the same
// input as the evaluated one.
type outcome struct {
	decision engine.Decision
	// input and result are the policy input as evaluated and the decision, for the decision
	// log. Neither changes once evaluated, so the cache and the log share them, and a decision
	// reused many times is encoded for the log once (measured: docs/performance.md).
	input, result *decisionlog.Once
	// native is the native answer's JSON after its decision_id member, encoded once when the
	// decision is cached, so a reused decision is not encoded again (see nativeAnswer).
	native []byte
}

// outcomeOf is the outcome of deciding d on in.
func outcomeOf(in *engine.Input, d engine.Decision) outcome {
	return outcome{decision: d, input: decisionlog.EncodeOnce(in), result: decisionlog.EncodeOnce(d)}
}

// size estimates the bytes o holds, for the cache's bound. The input is charged at three
// times the request bytes it was decoded from (maps, strings and interface values cost more
// than their JSON), its subject and token being the principal's, which the token cache holds;
// once logged, the input's and result's encodings are held too, charged a flat kilobyte on
// top of the request bytes. Without an input (no decision log) none of that is held.
func (o *outcome) size(request []byte) int {
	n := 16 * len(o.decision.Reasons)
	for _, r := range o.decision.Reasons {
		n += len(r)
	}
	if o.input != nil {
		n += 4*len(request) + 1024
	}
	// Obligations and risk are small maps of short values; charge a generous flat rate.
	return n + len(o.native) + 256*len(o.decision.Obligations) + 256
}

// decisionTime is the instant a decision is made at: the server's clock to the second, the
// resolution of input.context.time.
func (s *Server) decisionTime() time.Time { return s.now().UTC().Truncate(time.Second) }

// decideRequest decides for principal p the input that build makes from request, the bytes
// that with p and now make the whole input. When the active policy is repeatable and the
// decision cache is on, a decision made before for the same principal, kind and bytes under the
// same revision, and in the same second when the policy reads the clock, is reused instead of
// evaluating again; the request still gets its own decision id, count and log record, and its
// token was verified and checked for revocation before. A build error is the caller's mistake
// and is returned with no decision id.
func (s *Server) decideRequest(ctx context.Context, path string, kind byte, p *token.Principal, request []byte,
	now time.Time, build func() (*engine.Input, error)) (string, outcome, error) {
	snap := s.deps.Policy.Current()
	if s.decisions == nil || snap == nil || !snap.Repeatable() {
		in, err := build()
		if err != nil {
			return "", outcome{}, err
		}
		id, d, err := s.decide(ctx, path, in)
		return id, outcome{decision: d}, err
	}
	s.forgetOlder(snap)
	start := s.now()
	at := now
	if !snap.ReadsClock() {
		// The decision is the same whatever the time: it need not expire with its second.
		at = time.Time{}
	}
	key := decisioncache.Key(kind, p, at, request)
	if o, ok := s.decisions.Get(key, p, snap.Revision()); ok {
		stage.Enter(stage.Respond)
		return s.record(ctx, path, start, o, nil), o, nil
	}
	in, err := build()
	if err != nil {
		return "", outcome{}, err
	}
	d, err := snap.Decide(ctx, in)
	stage.Enter(stage.Respond)
	o := outcomeOf(in, d)
	if err == nil {
		o.native = nativeTail(d)
		cached := o
		if !s.deps.DecisionLog.Keeps() {
			// No record will carry the input: the cache need not hold it, and holds more
			// decisions in its bytes instead.
			cached.input, cached.result = nil, nil
		}
		s.decisions.Add(key, p, d.Revision, cached, cached.size(request))
	} else {
		o.decision.Allow = false
	}
	return s.record(ctx, path, start, o, err), o, err
}

// forgetOlder empties the decision cache the first time a request meets a snapshot activated
// after the one the cache last served: the decisions of earlier revisions can never be reused
// (Get checks the revision), so they would only hold memory until evicted. A request still
// finishing on the older snapshot does not empty it again.
func (s *Server) forgetOlder(snap *engine.Snapshot) {
	old := s.decisionsFor.Load()
	if old == snap || (old != nil && !snap.ActivatedAt().After(old.ActivatedAt())) {
		return
	}
	if s.decisionsFor.CompareAndSwap(old, snap) && old != nil {
		s.decisions.Purge()
	}
}

// decide evaluates one input, then counts and logs the decision. An error is always returned
// with a deny.
func (s *Server) decide(ctx context.Context, path string, in *engine.Input) (string, engine.Decision, error) {
	start := s.now()
	d, err := s.deps.Policy.Decide(ctx, in)
	stage.Enter(stage.Respond)
	if err != nil {
		d.Allow = false
	}
	return s.record(ctx, path, start, outcomeOf(in, d), err), d, err
}

// record counts and logs one decision made since start, and returns its new decision id.
func (s *Server) record(ctx context.Context, path string, start time.Time, o outcome, err error) string {
	id := newID()
	d := o.decision
	result := resultDeny
	switch {
	case errors.Is(err, context.Canceled):
		// The caller went away: not a policy failure, so not counted with the errors that
		// operators alert on.
		result = resultCancelled
	case err != nil:
		result = resultError
	case d.Allow:
		result = resultAllow
	}
	s.metrics.byResult[result].Inc()
	rec := decisionlog.Record{
		Time: start, DecisionID: id, Path: s.cfg.Policy.Entrypoint, API: path, Revision: d.Revision,
		Input: o.input, Allow: d.Allow,
	}
	if err == nil {
		rec.Result = o.result
	}
	logDecision(ctx, s.deps.DecisionLog, s.now(), err, rec)
	return id
}

// logDecision completes rec from the request's context (request and trace ids), the time now
// and the decision's error, and hands it to the decision log.
func logDecision(ctx context.Context, log *decisionlog.Logger, now time.Time, err error, rec decisionlog.Record) {
	rec.RequestID = requestID(ctx)
	rec.Span = trace.SpanContextFromContext(ctx)
	rec.Duration = now.Sub(rec.Time)
	if err != nil {
		rec.Error = classify(err).code
	}
	log.Log(rec)
}

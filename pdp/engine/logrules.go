package engine

import (
	"context"
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// The decision-log rules a bundle may define, as OPA reads them: data.system.log.drop (true
// drops the event) and data.system.log.mask (a set of JSON pointers, or of {op, path, value}
// objects, to erase or upsert in the event). Both are evaluated with the event as input.
var (
	logDropRef = ast.MustParseRef("data.system.log.drop")
	logMaskRef = ast.MustParseRef("data.system.log.mask")
)

// logRules are a snapshot's prepared decision-log rules; a nil query is a rule the bundle does
// not define, which costs nothing.
type logRules struct {
	drop, mask *rego.PreparedEvalQuery
}

// prepareLogRules prepares the decision-log rules the compiled bundle defines.
func (s *Snapshot) prepareLogRules(ctx context.Context) error {
	for _, r := range []struct {
		ref ast.Ref
		to  **rego.PreparedEvalQuery
	}{{logDropRef, &s.logRules.drop}, {logMaskRef, &s.logRules.mask}} {
		if len(s.compiler.GetRules(r.ref)) == 0 {
			continue
		}
		pq, err := s.prepare(ctx, r.ref)
		if err != nil {
			return fmt.Errorf("prepare %s: %w", r.ref, err)
		}
		*r.to = &pq
	}
	return nil
}

// LogRules reports which decision-log rules the snapshot defines: data.system.log.drop and
// data.system.log.mask. A caller evaluates neither when both are false.
func (s *Snapshot) LogRules() (drop, mask bool) {
	return s.logRules.drop != nil, s.logRules.mask != nil
}

// LogDrop evaluates data.system.log.drop with event as input: true only when the rule is
// defined and evaluates to the boolean true.
func (s *Snapshot) LogDrop(ctx context.Context, event any) (bool, error) {
	v, err := s.evalLogRule(ctx, s.logRules.drop, event)
	return v == true, err
}

// LogMask evaluates data.system.log.mask with event as input and returns its value (nil when
// the rule is not defined or undefined for this event).
func (s *Snapshot) LogMask(ctx context.Context, event any) (any, error) {
	return s.evalLogRule(ctx, s.logRules.mask, event)
}

func (s *Snapshot) evalLogRule(ctx context.Context, pq *rego.PreparedEvalQuery, event any) (any, error) {
	if pq == nil {
		return nil, nil
	}
	input, err := toValue(event)
	if err != nil {
		return nil, fmt.Errorf("%w: %w: %w", ErrEvaluation, ErrInvalidInput, err)
	}
	rs, err := s.eval(ctx, *pq, input)
	if err != nil || len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return nil, err
	}
	return rs[0].Expressions[0].Value, nil
}

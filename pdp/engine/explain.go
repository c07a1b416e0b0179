package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/open-policy-agent/opa/v1/topdown/lineage"
)

// ExplainMode chooses which part of an evaluation's trace an explanation keeps, as the modes
// of `opa eval --explain` do.
type ExplainMode string

// The explain modes.
const (
	// ExplainNotes keeps the notes the policy wrote with trace() and the rules that led to each.
	ExplainNotes ExplainMode = "notes"
	// ExplainFails keeps every expression that failed and the rules that led to it.
	ExplainFails ExplainMode = "fails"
	// ExplainFull keeps the whole trace but unifications: every rule entered, every expression
	// evaluated, and how each ended.
	ExplainFull ExplainMode = "full"
)

// ErrExplainMode means an explain mode is not one of notes, fails and full.
var ErrExplainMode = errors.New("explain mode must be notes, fails or full")

// maxExplainLines bounds an explanation: a full trace of a large policy runs to many thousand
// lines, and an explanation is for people to read.
const maxExplainLines = 10000

// ParseExplainMode reads an explain mode by its name.
func ParseExplainMode(name string) (ExplainMode, error) {
	switch m := ExplainMode(name); m {
	case ExplainNotes, ExplainFails, ExplainFull:
		return m, nil
	default:
		return "", fmt.Errorf("%w, not %q", ErrExplainMode, name)
	}
}

// DecideExplained evaluates in as Decide does and returns, with the decision, the trace of the
// evaluation filtered by mode, one line per event with its location in the bundle. It is a
// path of its own: the evaluation is traced, so it costs several times a decision, and Decide
// never pays for it. The trace is returned on an evaluation error too, as far as it went.
func (s *Snapshot) DecideExplained(ctx context.Context, in *Input, mode ExplainMode) (Decision, []string, error) {
	input, err := inputValue(in)
	if err != nil {
		return denial(s.revision), nil, err
	}
	rs, lines, err := s.traced(ctx, s.decision, input, mode, timeOf(in)...)
	if err != nil {
		return denial(s.revision), lines, err
	}
	d, err := decisionFrom(rs, s.revision)
	return d, lines, err
}

// QueryExplained evaluates the document data.<path> for in as Query does, and returns its trace
// filtered by mode as DecideExplained does. An empty mode traces nothing and returns no lines.
func (s *Snapshot) QueryExplained(ctx context.Context, path string, in *Input, mode ExplainMode) (result any, defined bool, lines []string, err error) {
	pq, err := s.prepared(ctx, path)
	if err != nil {
		return nil, false, nil, err
	}
	input, err := inputValue(in)
	if err != nil {
		return nil, false, nil, err
	}
	var rs rego.ResultSet
	if mode == "" {
		rs, err = s.eval(ctx, pq, input, timeOf(in)...)
	} else {
		rs, lines, err = s.traced(ctx, pq, input, mode, timeOf(in)...)
	}
	if err != nil || len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return nil, false, lines, err
	}
	return rs[0].Expressions[0].Value, true, lines, nil
}

// timeOf pins time.now_ns() to the input's instant, when it has one.
func timeOf(in *Input) []rego.EvalOption {
	if in == nil || in.Now.IsZero() {
		return nil
	}
	return []rego.EvalOption{rego.EvalTime(in.Now)}
}

// traced runs pq as eval does, with a tracer, and renders the events mode keeps.
func (s *Snapshot) traced(ctx context.Context, pq rego.PreparedEvalQuery, input ast.Value, mode ExplainMode,
	extra ...rego.EvalOption) (rego.ResultSet, []string, error) {
	filter, err := traceFilter(mode)
	if err != nil {
		return nil, nil, err
	}
	tracer := topdown.NewBufferTracer()
	rs, err := s.eval(ctx, pq, input, append(extra, rego.EvalQueryTracer(tracer))...)
	return rs, traceLines(filter(*tracer)), err
}

func traceFilter(mode ExplainMode) (func([]*topdown.Event) []*topdown.Event, error) {
	switch mode {
	case ExplainNotes:
		return lineage.Notes, nil
	case ExplainFails:
		return lineage.Fails, nil
	case ExplainFull:
		return lineage.Full, nil
	default:
		return nil, fmt.Errorf("%w, not %q", ErrExplainMode, mode)
	}
}

// traceLines renders events as `opa eval --explain` prints them, location first, one line
// each, at most maxExplainLines.
func traceLines(events []*topdown.Event) []string {
	if len(events) == 0 {
		return []string{}
	}
	var buf bytes.Buffer
	topdown.PrettyTraceWithOpts(&buf, events, topdown.PrettyTraceOptions{Locations: true})
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	if len(lines) > maxExplainLines {
		lines = append(lines[:maxExplainLines], fmt.Sprintf("... %d more lines", len(lines)-maxExplainLines))
	}
	return lines
}

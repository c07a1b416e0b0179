package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// ErrInvalidPath means a Query path is not a slash-separated document path, or names a
// document that cannot exist in the snapshot's policy (a path into a boolean rule): OPA refuses
// to compile the query, as its own Data API does with a 400.
var ErrInvalidPath = errors.New("invalid document path")

// Query evaluates the document data.<path> against this snapshot with the given input, for an
// OPA-compatible Data API. path is slash separated (verdict/authz/decision); "" is the whole
// of data, which evaluates every rule in the bundle, tests included. input may be nil, an
// ast.Value, or any JSON-shaped Go value (json.Number values become numbers). Queries are
// prepared on first use and kept per path in a small LRU, and so are paths that fail to
// compile; evaluation has the decision timeout.
// defined is false when the document is undefined for this input. Errors wrap ErrInvalidPath,
// ErrInvalidInput, ErrEvaluation or ErrTimeout.
func (s *Snapshot) Query(ctx context.Context, path string, input any) (result any, defined bool, err error) {
	pq, err := s.prepared(ctx, path)
	if err != nil {
		return nil, false, err
	}
	var value ast.Value
	if input != nil {
		if value, err = toValue(input); err != nil {
			return nil, false, fmt.Errorf("%w: %w: %w", ErrEvaluation, ErrInvalidInput, err)
		}
	}
	rs, err := s.eval(ctx, pq, value)
	if err != nil {
		return nil, false, err
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return nil, false, nil
	}
	return rs[0].Expressions[0].Value, true, nil
}

// preparedQuery is what the cache keeps for a path: the prepared query, or the compile error
// that refuses the path for the life of the snapshot.
type preparedQuery struct {
	pq  rego.PreparedEvalQuery
	err error
}

// prepared returns the prepared query for path, preparing and caching it on a miss. Two
// requests missing at once may both prepare; the result is the same and one is kept. A compile
// error is cached too: the snapshot never changes, so the path will never compile.
func (s *Snapshot) prepared(ctx context.Context, path string) (rego.PreparedEvalQuery, error) {
	key := strings.Trim(path, "/")
	if e, ok := s.queries.Get(key); ok {
		return e.pq, e.err
	}
	ref, err := pathRef(key)
	if err != nil {
		return rego.PreparedEvalQuery{}, fmt.Errorf("%w: %w", ErrInvalidPath, err)
	}
	pq, err := s.prepare(ctx, ref)
	var compileErrs ast.Errors
	switch {
	case errors.As(err, &compileErrs):
		err = fmt.Errorf("%w: %s does not compile: %w", ErrInvalidPath, ref, err)
		s.queries.Add(key, preparedQuery{err: err})
		return rego.PreparedEvalQuery{}, err
	case err != nil:
		return rego.PreparedEvalQuery{}, fmt.Errorf("%w: prepare %s: %w", ErrEvaluation, ref, err)
	}
	s.queries.Add(key, preparedQuery{pq: pq})
	return pq, nil
}

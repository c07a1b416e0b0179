package httpapi

import (
	"context"
	"net/http"

	"github.com/verdict-pdp/verdict/pdp/request"
)

func (a *standardAPIs) handleSearchSubject(w http.ResponseWriter, r *http.Request) {
	a.search(w, r, request.SearchSubject)
}

func (a *standardAPIs) handleSearchResource(w http.ResponseWriter, r *http.Request) {
	a.search(w, r, request.SearchResource)
}

func (a *standardAPIs) handleSearchAction(w http.ResponseWriter, r *http.Request) {
	a.search(w, r, request.SearchAction)
}

// search answers one page: candidates come from the bundle's directory, each is evaluated
// with the normal decision, and only allowed ones are returned, in candidate order.
func (a *standardAPIs) search(w http.ResponseWriter, r *http.Request, kind request.SearchKind) {
	q, err := a.readSearch(w, r, kind)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	res, err := q.Run(a.cfg.Server.MaxBatch, a.cfg.Server.BatchConcurrency, func(from, n int) ([]bool, error) {
		return a.evaluateCandidates(r.Context(), r.URL.Path, q, from, n)
	})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// readSearch authenticates, decodes and validates a search, and lists its candidates.
func (a *standardAPIs) readSearch(w http.ResponseWriter, r *http.Request, kind request.SearchKind) (*request.Search, error) {
	wire, err := a.readAuthZEN(w, r)
	if err != nil {
		return nil, err
	}
	q, err := request.NewSearch(kind, wire, a.cfg.Server.MaxBatch)
	if err != nil {
		return nil, err
	}
	dir, err := a.directory(r.Context())
	if err != nil {
		return nil, err
	}
	q.List(dir)
	a.stampTime(q.Base())
	return q, nil
}

// evaluateCandidates decides candidates from..from+n-1 concurrently.
func (a *standardAPIs) evaluateCandidates(ctx context.Context, path string, q *request.Search, from, n int) ([]bool, error) {
	allowed := make([]bool, n)
	errs := make([]error, n)
	a.runItems(ctx, n, executeAll, func(ctx context.Context, j int) bool {
		_, d, err := a.decide(ctx, path, q.Candidate(from+j))
		allowed[j], errs[j] = d.Allow && err == nil, err
		return allowed[j]
	})
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return allowed, nil
}

package httpapi

import (
	"net/http"

	"github.com/verdict-pdp/verdict/pdp/bundledata"
	"github.com/verdict-pdp/verdict/pdp/engine"
)

// searchKind is what an AuthZEN search looks for (AuthZEN 1.0 §8).
type searchKind string

// The three searches; the value is the last segment of the endpoint's path.
const (
	searchSubject  searchKind = "subject"
	searchResource searchKind = "resource"
	searchAction   searchKind = "action"
)

// searchScanFactor bounds the candidates one page may evaluate to this many times
// server.max_batch; a page that reaches the bound ends early with a next_token.
const searchScanFactor = 10

// entityRef is a subject or resource search result: type first, as AuthZEN shows it.
type entityRef struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// actionRef is an action search result.
type actionRef struct {
	Name string `json:"name"`
}

// searchResponse is the body of a search answer. next_token is empty on the last page.
type searchResponse struct {
	Results []any      `json:"results"`
	Page    searchPage `json:"page"`
}

type searchPage struct {
	NextToken string `json:"next_token"`
	Count     int    `json:"count"`
}

// searchQuery is one validated search page: the fixed members, the sorted candidates and
// where this page starts.
type searchQuery struct {
	kind searchKind
	// base is the input every candidate shares, its searched member blank.
	base *engine.Input
	// keys are the candidates' ids (names for actions), sorted; props their directory
	// properties (nil for actions).
	keys  []string
	props []map[string]any
	page  pageRequest
}

func (a *standardAPIs) handleSearchSubject(w http.ResponseWriter, r *http.Request) {
	a.search(w, r, searchSubject)
}

func (a *standardAPIs) handleSearchResource(w http.ResponseWriter, r *http.Request) {
	a.search(w, r, searchResource)
}

func (a *standardAPIs) handleSearchAction(w http.ResponseWriter, r *http.Request) {
	a.search(w, r, searchAction)
}

// search answers one page: candidates come from the bundle's directory, each is evaluated
// with the normal decision, and only allowed ones are returned, in candidate order.
func (a *standardAPIs) search(w http.ResponseWriter, r *http.Request, kind searchKind) {
	q, err := a.readSearch(w, r, kind)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	res, err := a.runSearch(r.Context(), r.URL.Path, q)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// readSearch authenticates, decodes and validates a search, and lists its candidates. A type
// the directory does not list, or a fixed entity it does not know, leaves no candidates.
func (a *standardAPIs) readSearch(w http.ResponseWriter, r *http.Request, kind searchKind) (*searchQuery, error) {
	wire, err := a.readAuthZEN(w, r)
	if err != nil {
		return nil, err
	}
	t, err := wire.tuple()
	if err != nil {
		return nil, err
	}
	base, err := t.input(searchNeeds(kind))
	if err != nil {
		return nil, err
	}
	q := &searchQuery{kind: kind, base: base}
	if q.page, err = parsePage(wire.Page, q.fingerprint(), a.cfg.Server.MaxBatch); err != nil {
		return nil, err
	}
	dir, err := a.directory(r.Context())
	if err != nil {
		return nil, err
	}
	if q.fixed(dir) {
		q.keys, q.props = dir.candidates(kind, base)
	}
	a.stampTime(base)
	return q, nil
}

func searchNeeds(kind searchKind) azNeeds {
	switch kind {
	case searchSubject:
		return needSubjects
	case searchResource:
		return needResource
	default:
		return needActions
	}
}

// fixed enriches the members the search does not look for and reports whether the directory
// knows them.
func (q *searchQuery) fixed(dir *directory) bool {
	known := true
	if q.kind != searchSubject {
		props, ok := lookup(dir.subjects, q.base.Subject.Type, q.base.Subject.ID)
		q.base.Subject.Properties = overlay(props, q.base.Subject.Properties)
		known = known && ok
	}
	if q.kind != searchResource {
		props, ok := lookup(dir.resources, q.base.Resource.Type, q.base.Resource.ID)
		q.base.Resource.Properties = overlay(props, q.base.Resource.Properties)
		known = known && ok
	}
	return known
}

// candidates lists what a search of kind may return, sorted, with directory properties.
func (d *directory) candidates(kind searchKind, base *engine.Input) ([]string, []map[string]any) {
	var entries []bundledata.Entry
	switch kind {
	case searchAction:
		return d.actions, make([]map[string]any, len(d.actions))
	case searchSubject:
		entries = d.subjects[base.Subject.Type]
	case searchResource:
		entries = d.resources[base.Resource.Type]
	}
	keys := make([]string, len(entries))
	props := make([]map[string]any, len(entries))
	for i, e := range entries {
		keys[i], props[i] = e.ID, e.Properties
	}
	return keys, props
}

// candidate is the input for candidate i: the base with the searched member filled in.
func (q *searchQuery) candidate(i int) *engine.Input {
	in := *q.base
	switch q.kind {
	case searchSubject:
		in.Subject.ID = q.keys[i]
		in.Subject.Properties = overlay(q.props[i], q.base.Subject.Properties)
	case searchResource:
		in.Resource.ID = q.keys[i]
		in.Resource.Properties = overlay(q.props[i], q.base.Resource.Properties)
	case searchAction:
		in.Action = engine.Action{Name: q.keys[i]}
	}
	return &in
}

func (q *searchQuery) result(i int) any {
	switch q.kind {
	case searchSubject:
		return entityRef{Type: q.base.Subject.Type, ID: q.keys[i]}
	case searchResource:
		return entityRef{Type: q.base.Resource.Type, ID: q.keys[i]}
	default:
		return actionRef{Name: q.keys[i]}
	}
}

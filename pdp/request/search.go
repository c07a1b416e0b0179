package request

import (
	"sort"

	"github.com/verdict-pdp/verdict/pdp/bundledata"
	"github.com/verdict-pdp/verdict/pdp/engine"
)

// SearchKind is what an AuthZEN search looks for (AuthZEN 1.0 §8).
type SearchKind string

// The three searches; the value is the last segment of the endpoint's path.
const (
	SearchSubject  SearchKind = "subject"
	SearchResource SearchKind = "resource"
	SearchAction   SearchKind = "action"
)

// searchScanFactor bounds the candidates one page may evaluate to this many times
// server.max_batch; a page that reaches the bound ends early with a next_token.
const searchScanFactor = 10

// EntityRef is a subject or resource search result: type first, as AuthZEN shows it.
type EntityRef struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// ActionRef is an action search result.
type ActionRef struct {
	Name string `json:"name"`
}

// SearchResponse is the body of a search answer. next_token is empty on the last page.
type SearchResponse struct {
	Results []any      `json:"results"`
	Page    SearchPage `json:"page"`
}

// SearchPage is the page member of a search answer.
type SearchPage struct {
	NextToken string `json:"next_token"`
	Count     int    `json:"count"`
}

// Search is one validated AuthZEN search page (NewSearch): the fixed members, the sorted
// candidates (List) and where this page starts.
type Search struct {
	kind SearchKind
	// base is the input every candidate shares, its searched member blank.
	base *engine.Input
	// keys are the candidates' ids (names for actions), sorted; props their directory
	// properties (nil for actions).
	keys  []string
	props []map[string]any
	page  pageRequest
}

// NewSearch validates a search of kind for the body wire and its page member, maxLimit the
// largest page. Its candidates are listed from the directory by List.
func NewSearch(kind SearchKind, wire *AuthZEN, maxLimit int) (*Search, error) {
	t, err := wire.Tuple()
	if err != nil {
		return nil, err
	}
	base, err := t.input(searchNeeds(kind))
	if err != nil {
		return nil, err
	}
	q := &Search{kind: kind, base: base}
	if q.page, err = parsePage(wire.Page, q.fingerprint(), maxLimit); err != nil {
		return nil, err
	}
	return q, nil
}

// List enriches the members the search does not look for from dir and lists the candidates
// dir holds. A type the directory does not list, or a fixed entity it does not know, leaves
// no candidates.
func (q *Search) List(dir *Directory) {
	if q.fixed(dir) {
		q.keys, q.props = dir.candidates(q.kind, q.base)
	}
}

// Base is the input every candidate shares, its searched member blank.
func (q *Search) Base() *engine.Input { return q.base }

func searchNeeds(kind SearchKind) azNeeds {
	switch kind {
	case SearchSubject:
		return needSubjects
	case SearchResource:
		return needResource
	default:
		return needActions
	}
}

// fixed enriches the members the search does not look for and reports whether the directory
// knows them.
func (q *Search) fixed(dir *Directory) bool {
	known := true
	if q.kind != SearchSubject {
		props, ok := lookup(dir.subjects, q.base.Subject.Type, q.base.Subject.ID)
		q.base.Subject.Properties = overlay(props, q.base.Subject.Properties)
		known = known && ok
	}
	if q.kind != SearchResource {
		props, ok := lookup(dir.resources, q.base.Resource.Type, q.base.Resource.ID)
		q.base.Resource.Properties = overlay(props, q.base.Resource.Properties)
		known = known && ok
	}
	return known
}

// candidates lists what a search of kind may return, sorted, with directory properties.
func (d *Directory) candidates(kind SearchKind, base *engine.Input) ([]string, []map[string]any) {
	var entries []bundledata.Entry
	switch kind {
	case SearchAction:
		return d.actions, make([]map[string]any, len(d.actions))
	case SearchSubject:
		entries = d.subjects[base.Subject.Type]
	case SearchResource:
		entries = d.resources[base.Resource.Type]
	}
	keys := make([]string, len(entries))
	props := make([]map[string]any, len(entries))
	for i, e := range entries {
		keys[i], props[i] = e.ID, e.Properties
	}
	return keys, props
}

// Candidate is the input for candidate i: the base with the searched member filled in.
func (q *Search) Candidate(i int) *engine.Input {
	in := *q.base
	switch q.kind {
	case SearchSubject:
		in.Subject.ID = q.keys[i]
		in.Subject.Properties = overlay(q.props[i], q.base.Subject.Properties)
	case SearchResource:
		in.Resource.ID = q.keys[i]
		in.Resource.Properties = overlay(q.props[i], q.base.Resource.Properties)
	case SearchAction:
		in.Action = engine.Action{Name: q.keys[i]}
	}
	return &in
}

func (q *Search) result(i int) any {
	switch q.kind {
	case SearchSubject:
		return EntityRef{Type: q.base.Subject.Type, ID: q.keys[i]}
	case SearchResource:
		return EntityRef{Type: q.base.Resource.Type, ID: q.keys[i]}
	default:
		return ActionRef{Name: q.keys[i]}
	}
}

// Run evaluates candidates after the page's cursor with evaluate (which reports which of
// candidates from..from+n-1 are allowed), batches of at least concurrency, until one result
// more than the page holds is found, the candidates end or the scan bound (searchScanFactor
// times maxBatch) is reached. That one more result is not returned: it says another page
// follows, so a full last page carries no next_token. A failed evaluation fails the whole
// search: a search must not quietly leave results out.
func (q *Search) Run(maxBatch, concurrency int, evaluate func(from, n int) ([]bool, error)) (SearchResponse, error) {
	res := SearchResponse{Results: []any{}}
	start := sort.SearchStrings(q.keys, q.page.after)
	if q.page.after != "" && start < len(q.keys) && q.keys[start] == q.page.after {
		start++
	}
	end := min(len(q.keys), start+searchScanFactor*maxBatch)
	last, more := start-1, false
	for next := start; next < end && !more; next = last + 1 {
		n := min(max(q.page.limit+1-len(res.Results), concurrency), end-next)
		allowed, err := evaluate(next, n)
		if err != nil {
			return res, err
		}
		for j, ok := range allowed {
			if more = ok && len(res.Results) == q.page.limit; more {
				break
			}
			last = next + j
			if ok {
				res.Results = append(res.Results, q.result(last))
			}
		}
	}
	res.Page.Count = len(res.Results)
	// Without a result beyond the page, a token still follows when the scan bound stopped the
	// page before the candidates ended.
	if last >= start && last+1 < len(q.keys) {
		res.Page.NextToken = sealPageToken(q.keys[last], q.fingerprint())
	}
	return res, nil
}

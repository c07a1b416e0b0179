package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
)

// defaultSearchLimit is the page size when a search names none; server.max_batch caps it.
const defaultSearchLimit = 50

// pageRequest is a validated page member: how many results at most, and the candidate key
// after which this page starts ("" for the first page).
type pageRequest struct {
	limit int
	after string
}

// pageWire is the page member of a search request. next_token is accepted as well as token,
// as drafts before AuthZEN 1.0 sent the token back under that name.
type pageWire struct {
	Token     *string      `json:"token"`
	NextToken *string      `json:"next_token"`
	Limit     *json.Number `json:"limit"`
}

// pageToken is the opaque page token: the last candidate examined and a fingerprint of the
// search, so a token is not replayed against a different search. Keying on the candidate
// rather than an offset keeps pages stable when a new bundle revision adds entities.
type pageToken struct {
	After       string `json:"a"`
	Fingerprint string `json:"f"`
}

// parsePage reads the page member against the search's fingerprint and the largest limit.
func parsePage(raw json.RawMessage, fingerprint string, maxLimit int) (pageRequest, error) {
	p := pageRequest{limit: min(defaultSearchLimit, maxLimit)}
	if isAbsent(raw) {
		return p, nil
	}
	if !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		return p, badRequest("page must be a JSON object")
	}
	var w pageWire
	if err := decodeRaw(raw, &w); err != nil {
		return p, badRequest("page.token must be a string and page.limit a number")
	}
	if w.Limit != nil {
		n, err := strconv.Atoi(w.Limit.String())
		if err != nil || n < 1 {
			return p, badRequest("page.limit must be a positive integer")
		}
		p.limit = min(n, maxLimit)
	}
	tok := w.Token
	if tok == nil {
		tok = w.NextToken
	}
	if tok == nil || *tok == "" {
		return p, nil
	}
	var err error
	p.after, err = openPageToken(*tok, fingerprint)
	return p, err
}

func openPageToken(s, fingerprint string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	var t pageToken
	if err != nil || json.Unmarshal(b, &t) != nil || t.After == "" {
		return "", badRequest("page.token is not a token this server issued")
	}
	if t.Fingerprint != fingerprint {
		return "", badRequest("page.token belongs to a different search")
	}
	return t.After, nil
}

func sealPageToken(after, fingerprint string) string {
	b, _ := json.Marshal(pageToken{After: after, Fingerprint: fingerprint})
	return base64.RawURLEncoding.EncodeToString(b)
}

// fingerprint identifies the search apart from its page, properties and context: the kind
// and the types and ids of its members.
func (q *searchQuery) fingerprint() string {
	in := q.base
	h := sha256.New()
	for _, part := range []string{string(q.kind), in.Subject.Type, in.Subject.ID, in.Action.Name, in.Resource.Type, in.Resource.ID} {
		fmt.Fprintf(h, "%d:%s;", len(part), part)
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// runSearch evaluates candidates after the page's cursor, batch by batch with the batch
// concurrency, until one result more than the page holds is found, the candidates end or the
// scan bound is reached. That one more result is not returned: it says another page follows,
// so a full last page carries no next_token. A failed evaluation fails the whole search: a
// search must not quietly leave results out.
func (a *standardAPIs) runSearch(ctx context.Context, path string, q *searchQuery) (searchResponse, error) {
	res := searchResponse{Results: []any{}}
	start := sort.SearchStrings(q.keys, q.page.after)
	if q.page.after != "" && start < len(q.keys) && q.keys[start] == q.page.after {
		start++
	}
	end := min(len(q.keys), start+searchScanFactor*a.cfg.Server.MaxBatch)
	last, more := start-1, false
	for next := start; next < end && !more; next = last + 1 {
		n := min(max(q.page.limit+1-len(res.Results), a.cfg.Server.BatchConcurrency), end-next)
		allowed, err := a.evaluateCandidates(ctx, path, q, next, n)
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

// evaluateCandidates decides candidates from..from+n-1 concurrently.
func (a *standardAPIs) evaluateCandidates(ctx context.Context, path string, q *searchQuery, from, n int) ([]bool, error) {
	allowed := make([]bool, n)
	errs := make([]error, n)
	a.runItems(ctx, n, executeAll, func(ctx context.Context, j int) bool {
		_, d, err := a.decide(ctx, path, q.candidate(from+j))
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

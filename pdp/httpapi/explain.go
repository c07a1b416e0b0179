package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/verdict-pdp/verdict/pdp/engine"
	"github.com/verdict-pdp/verdict/pdp/request"
	"github.com/verdict-pdp/verdict/pdp/token"
)

// explainParam is the query parameter that asks for a decision's trace: ?explain=notes|fails|full.
const explainParam = "explain"

// adminKeyHeader carries the admin API key on the decision APIs, where Authorization holds the
// end user's token (native) or the PEP's credential (AuthZEN) and X-API-Key may hold the PEP's key.
const adminKeyHeader = "X-Verdict-Admin-Key"

// errExplainForbidden refuses ?explain to a caller who is not an administrator: a trace shows
// the policy's rules and data, which are not the caller's to read.
var errExplainForbidden = errors.New("explain is for administrators: send the admin API key in " + adminKeyHeader +
	" (admin.api_keys_sha256), or run verdict serve --dev")

// explainMode reads ?explain. It returns "" when the request does not ask, at the cost of one
// comparison, so the decision path is unchanged; a mode that is not notes, fails or full is a
// 400, and a caller who is neither an administrator nor talking to serve --dev gets a 403.
func (s *Server) explainMode(r *http.Request) (engine.ExplainMode, error) {
	if r.URL.RawQuery == "" {
		return "", nil
	}
	q := r.URL.Query()
	if !q.Has(explainParam) {
		return "", nil
	}
	mode, err := engine.ParseExplainMode(q.Get(explainParam))
	if err != nil {
		return "", badRequest(fmt.Sprintf("%s: %v", explainParam, engine.ErrExplainMode))
	}
	if !s.deps.Dev && !newAdminAuth(s).keys.matches(r.Header.Get(adminKeyHeader)) {
		return "", errExplainForbidden
	}
	return mode, nil
}

// decideExplained evaluates in on the engine's traced path: never answered from the decision
// cache nor added to it, and counted and logged as any decision. An error is returned with a deny.
func (s *Server) decideExplained(ctx context.Context, path string, in *engine.Input, mode engine.ExplainMode) (string, engine.Decision, []string, error) {
	snap := s.deps.Policy.Current()
	if snap == nil {
		return "", engine.Decision{}, nil, engine.ErrNoPolicy
	}
	start := s.now()
	d, lines, err := snap.DecideExplained(ctx, in, mode)
	if err != nil {
		d.Allow = false
	}
	return s.record(ctx, path, start, outcomeOf(in, d), err), d, lines, err
}

// explainedNative is the native answer with the trace.
type explainedNative struct {
	authorizeResponse
	Explanation []string `json:"explanation"`
}

// writeExplainedNative answers /v1/authorize?explain for principal p.
func (s *Server) writeExplainedNative(w http.ResponseWriter, r *http.Request, p *token.Principal, body []byte, mode engine.ExplainMode) {
	in, err := request.DecodeRequest(body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	request.ApplyPrincipal(in, p)
	s.stampTime(in)
	id, d, lines, err := s.decideExplained(r.Context(), r.URL.Path, in, mode)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, explainedNative{authorizeResponse: nativeResponse(id, d), Explanation: lines})
}

// explainedAuthZEN is an AuthZEN decision with the trace.
type explainedAuthZEN struct {
	azDecision
	Explanation []string `json:"explanation"`
}

// writeExplainedAuthZEN answers /access/v1/evaluation?explain for the tuple t.
func (a *standardAPIs) writeExplainedAuthZEN(w http.ResponseWriter, r *http.Request, dir *request.Directory, t request.Tuple, mode engine.ExplainMode) {
	in, err := a.tupleInput(dir, t)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	id, d, lines, err := a.decideExplained(r.Context(), r.URL.Path, in, mode)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, explainedAuthZEN{azDecision: a.azResult(id, d), Explanation: lines})
}

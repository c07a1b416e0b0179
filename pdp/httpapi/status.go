package httpapi

import (
	"net/http"
	"time"

	"github.com/verdict-pdp/verdict/pdp/bundle"
	"github.com/verdict-pdp/verdict/pdp/decisioncache"
	"github.com/verdict-pdp/verdict/pdp/decisionlog"
	"github.com/verdict-pdp/verdict/pdp/token"
)

// StatusReporter reports where the serving policy came from and what its source did last;
// *bundle.Manager is one.
type StatusReporter interface {
	Status() bundle.Status
}

var _ StatusReporter = (*bundle.Manager)(nil)

// tokenStats is what a Verifier that reports its key sets and cache counters offers
// (*token.Verifier does).
type tokenStats interface {
	Stats() token.Stats
}

// statusResponse is the body of GET /v1/status.
type statusResponse struct {
	// Revision and ActivatedAt are the serving snapshot's: the revision decisions carry now.
	Revision    string     `json:"revision"`
	ActivatedAt *time.Time `json:"activated_at,omitempty"`
	// Policy is the bundle manager's status: source, origin, last attempt, next poll.
	Policy *bundle.Status `json:"policy,omitempty"`
	// Tokens are the issuers' key sets and the verified-token cache counters.
	Tokens *token.Stats `json:"tokens,omitempty"`
	// DecisionLog counts what became of the decision log's records.
	DecisionLog decisionlog.Stats `json:"decision_log"`
	// DecisionCache is the decision cache's size and counters; absent when it is off.
	DecisionCache *decisioncache.Stats `json:"decision_cache,omitempty"`
}

// handleStatus serves GET /v1/status. It answers 200 even with no policy serving (revision
// empty): /ready is the readiness probe, this is for people and dashboards.
func (s *Server) handleStatus(w http.ResponseWriter, _ *http.Request) {
	var resp statusResponse
	if snap := s.deps.Policy.Current(); snap != nil {
		at := snap.ActivatedAt()
		resp.Revision, resp.ActivatedAt = snap.Revision(), &at
	}
	if s.deps.Status != nil {
		st := s.deps.Status.Status()
		resp.Policy = &st
	}
	if ts, ok := s.deps.Tokens.(tokenStats); ok {
		st := ts.Stats()
		resp.Tokens = &st
	}
	if s.decisions != nil {
		st := s.decisions.Stats()
		resp.DecisionCache = &st
	}
	resp.DecisionLog = s.deps.DecisionLog.Stats()
	writeJSON(w, http.StatusOK, resp)
}

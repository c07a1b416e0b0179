package httpapi

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/verdict-pdp/verdict/pdp/engine"
	"github.com/verdict-pdp/verdict/pdp/request"
)

// standardAPIs serves the standard protocols (AuthZEN 1.0, the OPA Data API and forward auth)
// through the Server's service step: the same decide, audit and error writer as the native
// API. It owns what those protocols read from the active bundle (route rules and the entity
// directory), cached per snapshot.
type standardAPIs struct {
	*Server
	pep    *pepAuth
	bundle bundleDataCache
}

func newStandardAPIs(s *Server) *standardAPIs {
	return &standardAPIs{Server: s, pep: newPEPAuth(s)}
}

// azDecision is an AuthZEN decision: decision, and context only when there is something the
// PEP must see (obligations, an item error) or when authzen.response_context is full.
type azDecision struct {
	Decision bool           `json:"decision"`
	Context  map[string]any `json:"context,omitempty"`
}

// azEvaluations is the body of an /access/v1/evaluations answer.
type azEvaluations struct {
	Evaluations []azDecision `json:"evaluations"`
}

func (a *standardAPIs) handleEvaluation(w http.ResponseWriter, r *http.Request) {
	wire, err := a.readAuthZEN(w, r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	mode, err := a.explainMode(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.single(w, r, wire, mode)
}

func (a *standardAPIs) handleEvaluations(w http.ResponseWriter, r *http.Request) {
	wire, err := a.readAuthZEN(w, r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	items, err := wire.Items()
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if len(items) == 0 {
		// AuthZEN §7.1: without evaluations the request is a single evaluation.
		a.single(w, r, wire, "")
		return
	}
	results, err := a.evaluateAll(r, wire, items)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, azEvaluations{Evaluations: results})
}

// readAuthZEN authenticates the PEP, then decodes the body.
func (a *standardAPIs) readAuthZEN(w http.ResponseWriter, r *http.Request) (*request.AuthZEN, error) {
	if err := a.pep.check(r); err != nil {
		return nil, err
	}
	body, err := readJSON(w, r, a.cfg.Server.MaxBodyBytes)
	if err != nil {
		return nil, err
	}
	return request.DecodeAuthZEN(body)
}

// single answers one evaluation, with its trace when mode asks; every problem is an HTTP error.
func (a *standardAPIs) single(w http.ResponseWriter, r *http.Request, wire *request.AuthZEN, mode engine.ExplainMode) {
	t, err := wire.Tuple()
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	dir, err := a.directory(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if mode != "" {
		a.writeExplainedAuthZEN(w, r, dir, t, mode)
		return
	}
	res, err := a.evaluate(r.Context(), r.URL.Path, dir, t)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// evaluateAll answers a boxcar: the top-level members are defaults for each item, items run
// concurrently up to server.batch_concurrency and are answered in request order, truncated
// after the deciding item for the short-circuit semantics. An invalid or failed item is a
// deny with the error in its context; problems with the whole payload are HTTP errors.
func (a *standardAPIs) evaluateAll(r *http.Request, wire *request.AuthZEN, items []json.RawMessage) ([]azDecision, error) {
	sem, err := a.checkBatch(len(items), wire.Options)
	if err != nil {
		return nil, err
	}
	defaults, err := wire.Tuple()
	if err != nil {
		return nil, err
	}
	dir, err := a.directory(r.Context())
	if err != nil {
		return nil, err
	}
	results := make([]azDecision, len(items))
	n := a.runItems(r.Context(), len(items), sem, func(ctx context.Context, i int) bool {
		results[i] = a.item(ctx, r.URL.Path, dir, i, items[i], defaults)
		return results[i].Decision
	})
	return results[:n], nil
}

// item evaluates one boxcar item merged over the defaults.
func (a *standardAPIs) item(ctx context.Context, path string, dir *request.Directory, i int, raw json.RawMessage, defaults request.Tuple) azDecision {
	res, err := func() (azDecision, error) {
		t, err := request.ParseItem(raw)
		if err != nil {
			return azDecision{}, err
		}
		return a.evaluate(ctx, path, dir, t.Over(defaults))
	}()
	if err != nil {
		return azDecision{Context: map[string]any{"error": a.newItemError(ctx, i, err)}}
	}
	return res
}

// evaluate decides one complete AuthZEN tuple.
func (a *standardAPIs) evaluate(ctx context.Context, path string, dir *request.Directory, t request.Tuple) (azDecision, error) {
	in, err := a.tupleInput(dir, t)
	if err != nil {
		return azDecision{}, err
	}
	id, d, err := a.decide(ctx, path, in)
	if err != nil {
		return azDecision{}, err
	}
	return a.azResult(id, d), nil
}

// tupleInput builds the policy input of one complete AuthZEN tuple, at the server's time.
func (a *standardAPIs) tupleInput(dir *request.Directory, t request.Tuple) (*engine.Input, error) {
	in, err := request.EvaluationInput(dir, t)
	if err != nil {
		return nil, err
	}
	a.stampTime(in)
	return in, nil
}

// azResult shapes a decision for AuthZEN. Obligations are always passed on: a PEP must not
// lose one, allow or deny. decision_id, reasons and risk only with response_context: full.
func (a *standardAPIs) azResult(id string, d engine.Decision) azDecision {
	ctx := map[string]any{}
	if len(d.Obligations) > 0 {
		ctx["obligations"] = d.Obligations
	}
	if a.cfg.AuthZEN.ResponseContext == "full" {
		ctx["decision_id"] = id
		ctx["reasons"] = d.Reasons
		if d.Reasons == nil {
			ctx["reasons"] = []string{}
		}
		if d.Risk != nil {
			ctx["risk"] = d.Risk
		}
	}
	res := azDecision{Decision: d.Allow}
	if len(ctx) > 0 {
		res.Context = ctx
	}
	return res
}

package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/verdict-pdp/verdict/pdp/decisionlog"
	"github.com/verdict-pdp/verdict/pdp/engine"
	"github.com/verdict-pdp/verdict/pdp/request"
	"github.com/verdict-pdp/verdict/pdp/strictjson"
)

// dataAPIPrefix starts every OPA Data API path; errors under it take OPA's shape.
const dataAPIPrefix = "/v1/data/"

// OPA's error codes (open-policy-agent/opa v1/server/types), for the Data API.
const (
	opaCodeInternal         = "internal_error"
	opaCodeInvalidParameter = "invalid_parameter"
	opaCodeInvalidOperation = "invalid_operation"
	opaCodeUnauthorized     = "unauthorized"
	opaCodeNotFound         = "resource_not_found"
)

// opaError is an error as OPA's REST API shows it, so OPA clients pointed at Verdict parse it.
type opaError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// dataShape is dataRequest's members for strictjson; the input is free-form. Read-only.
var dataShape = strictjson.Shape{"input": nil}

// dataRequest is the body of POST /v1/data/{path}; no input member means no input.
type dataRequest struct {
	Input *json.RawMessage `json:"input"`
}

// isDataAPI reports whether r is a Data API request, whose errors take OPA's shape.
func isDataAPI(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, dataAPIPrefix)
}

// opaErrorBody maps a classified error to OPA's codes; the status stays the same.
func opaErrorBody(e apiError) opaError {
	code := opaCodeInvalidParameter
	switch {
	case e.status == http.StatusUnauthorized || e.status == http.StatusForbidden:
		code = opaCodeUnauthorized
	case e.status == http.StatusNotFound:
		code = opaCodeNotFound
	case e.code == CodeResponseTooLarge, e.code == CodeRateLimited:
		code = e.code
	case e.status == http.StatusMethodNotAllowed:
		code = opaCodeInvalidOperation
	case e.status >= 500:
		code = opaCodeInternal
	}
	return opaError{Code: code, Message: e.message}
}

// handleData evaluates data.<path> like OPA's POST and GET /v1/data/{path}: input from the
// body's input member (POST) or the input query parameter (GET), ?pretty=true to indent. The
// caller asserts the whole input, so the PEP authentication of authzen.pep_auth applies.
func (a *standardAPIs) handleData(w http.ResponseWriter, r *http.Request) {
	if err := a.pep.check(r); err != nil {
		a.writeError(w, r, err)
		return
	}
	input, err := a.dataInput(w, r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	snap := a.deps.Policy.Current()
	if snap == nil {
		a.writeError(w, r, engine.ErrNoPolicy)
		return
	}
	path := mux.Vars(r)["path"]
	start := a.now()
	result, defined, err := snap.Query(r.Context(), path, input)
	id := newID()
	var body []byte
	if err == nil {
		body, err = dataBody(result, defined, id, a.cfg.Server.MaxDataResponseBytes, r.URL.Query().Get("pretty") == "true")
	}
	a.logQuery(r, id, path, snap.Revision(), start, input, result, err)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// dataInput reads the input: nil when none was sent.
func (a *standardAPIs) dataInput(w http.ResponseWriter, r *http.Request) (any, error) {
	var raw json.RawMessage
	if r.Method == http.MethodGet {
		q := r.URL.Query()["input"]
		if len(q) == 0 {
			return nil, nil
		}
		raw = json.RawMessage(q[len(q)-1])
	} else {
		if r.ContentLength == 0 {
			return nil, nil
		}
		var req dataRequest
		if err := decodeJSON(w, r, a.cfg.Server.MaxBodyBytes, dataShape, &req); err != nil {
			return nil, err
		}
		if req.Input == nil {
			return nil, nil
		}
		raw = *req.Input
	}
	var input any
	if err := request.DecodeDocument(raw, nil, &input); err != nil {
		return nil, badRequest("input: " + err.Error())
	}
	return input, nil
}

// logQuery writes the decision log record of a Data API query. It is not a decision of the
// entrypoint, so it is not counted in verdict_decisions_total; allow records a result of true.
func (a *standardAPIs) logQuery(r *http.Request, id, path, revision string, start time.Time, input, result any, err error) {
	logDecision(r.Context(), a.deps.DecisionLog, a.now(), err, decisionlog.Record{
		Time: start, DecisionID: id, Path: strings.Trim(path, "/"), API: dataAPIPrefix + path, Revision: revision,
		Input: input, Result: result, Allow: err == nil && result == true,
	})
}

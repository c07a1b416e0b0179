package httpapi

import (
	"net/http"
	"strings"
)

// The AuthZEN endpoints, relative to the PDP's base URL (AuthZEN 1.0 §10.1, table 1).
const (
	pathEvaluation     = "/access/v1/evaluation"
	pathEvaluations    = "/access/v1/evaluations"
	pathSearchSubject  = "/access/v1/search/subject"
	pathSearchResource = "/access/v1/search/resource"
	pathSearchAction   = "/access/v1/search/action"
	pathAuthZENConfig  = "/.well-known/authzen-configuration"
)

// azMetadata is the PDP metadata document (AuthZEN 1.0 §9). Verdict serves every endpoint,
// so each is listed; an endpoint it stopped serving would be omitted.
type azMetadata struct {
	PolicyDecisionPoint       string `json:"policy_decision_point"`
	AccessEvaluationEndpoint  string `json:"access_evaluation_endpoint"`
	AccessEvaluationsEndpoint string `json:"access_evaluations_endpoint,omitempty"`
	SearchSubjectEndpoint     string `json:"search_subject_endpoint,omitempty"`
	SearchResourceEndpoint    string `json:"search_resource_endpoint,omitempty"`
	SearchActionEndpoint      string `json:"search_action_endpoint,omitempty"`
}

// handleMetadata serves the metadata without authentication: it is discovery, and holds
// nothing the endpoints themselves do not reveal.
func (a *standardAPIs) handleMetadata(w http.ResponseWriter, r *http.Request) {
	base := a.baseURL(r)
	writeJSON(w, http.StatusOK, azMetadata{
		PolicyDecisionPoint:       base,
		AccessEvaluationEndpoint:  base + pathEvaluation,
		AccessEvaluationsEndpoint: base + pathEvaluations,
		SearchSubjectEndpoint:     base + pathSearchSubject,
		SearchResourceEndpoint:    base + pathSearchResource,
		SearchActionEndpoint:      base + pathSearchAction,
	})
}

// baseURL is authzen.base_url, or, when unset, the scheme and host the request came to. A
// PEP checks policy_decision_point against the URL it fetched, so deployments behind a proxy
// that changes either should set base_url.
func (a *standardAPIs) baseURL(r *http.Request) string {
	if b := a.cfg.AuthZEN.BaseURL; b != "" {
		return strings.TrimRight(b, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

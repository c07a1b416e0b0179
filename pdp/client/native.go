package client

import (
	"context"
	"errors"
)

// Copies of pdp/engine's wire types, on purpose: importing the engine would pull OPA into every client.

// Action is what the subject wants to do.
type Action struct {
	Name       string         `json:"name"`
	Properties map[string]any `json:"properties,omitempty"`
}

// Resource is what the action is done to.
type Resource struct {
	Type       string         `json:"type"`
	ID         string         `json:"id"`
	Properties map[string]any `json:"properties,omitempty"`
}

// Subject is who asks; the native API takes it from the token, AuthZEN from the request.
type Subject struct {
	Type       string         `json:"type"`
	ID         string         `json:"id"`
	Properties map[string]any `json:"properties,omitempty"`
}

// Request is one native decision request. The subject is the holder of the token it is sent
// with.
type Request struct {
	Action   Action         `json:"action"`
	Resource Resource       `json:"resource"`
	Context  map[string]any `json:"context,omitempty"`
}

// Obligation is something the caller must do with a decision, such as
// {"type": "step_up", "acr_values": [...], "max_age": 300}.
type Obligation map[string]any

// Type returns the obligation's type.
func (o Obligation) Type() string {
	t, _ := o["type"].(string)
	return t
}

// Decision is a native decision.
type Decision struct {
	DecisionID  string         `json:"decision_id"`
	Allow       bool           `json:"allow"`
	Reasons     []string       `json:"reasons"`
	Obligations []Obligation   `json:"obligations"`
	Risk        map[string]any `json:"risk,omitempty"`
	Revision    string         `json:"revision"`
	// Error is set on a batch item that was invalid or failed; Allow is then false.
	Error *ItemError `json:"error,omitempty"`
}

// ItemError says why one item of a batch failed.
type ItemError struct {
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Semantic is how a batch decides when to stop (AuthZEN evaluations_semantic).
type Semantic string

// The batch semantics. The short-circuit ones answer up to and including the deciding item.
const (
	ExecuteAll          Semantic = "execute_all"
	DenyOnFirstDeny     Semantic = "deny_on_first_deny"
	PermitOnFirstPermit Semantic = "permit_on_first_permit"
)

// Authorize asks for one decision for the holder of token. A deny is a Decision with Allow
// false, not an error.
func (c *Client) Authorize(ctx context.Context, token string, req Request) (Decision, error) {
	var d Decision
	err := c.call(ctx, "/v1/authorize", bearer(token), req, &d)
	return d, err
}

// AuthorizeBatch asks for many decisions for the holder of token, answered in order; with a
// short-circuit semantic the answer ends at the deciding item. An empty semantic is ExecuteAll.
func (c *Client) AuthorizeBatch(ctx context.Context, token string, reqs []Request, sem Semantic) ([]Decision, error) {
	if len(reqs) == 0 {
		return nil, errors.New("client: a batch needs at least one request")
	}
	body := struct {
		Evaluations []Request `json:"evaluations"`
		Options     *options  `json:"options,omitempty"`
	}{Evaluations: reqs, Options: optionsFor(sem)}
	var out struct {
		Evaluations []Decision `json:"evaluations"`
	}
	if err := c.call(ctx, "/v1/authorize/batch", bearer(token), body, &out); err != nil {
		return nil, err
	}
	if err := checkAnswers(len(out.Evaluations), len(reqs)); err != nil {
		return nil, err
	}
	return out.Evaluations, nil
}

type options struct {
	Semantic Semantic `json:"evaluations_semantic"`
}

func optionsFor(sem Semantic) *options {
	if sem == "" {
		return nil
	}
	return &options{Semantic: sem}
}

package client

import (
	"context"
	"encoding/json"
	"fmt"
)

// Evaluation is an AuthZEN access evaluation request. In an EvaluationsRequest any member
// may be left nil and taken from the request's defaults.
type Evaluation struct {
	Subject  *Subject       `json:"subject,omitempty"`
	Action   *Action        `json:"action,omitempty"`
	Resource *Resource      `json:"resource,omitempty"`
	Context  map[string]any `json:"context,omitempty"`
}

// EvaluationResult is an AuthZEN decision. Context carries obligations, an item's error or,
// with authzen.response_context: full, the decision id, reasons and risk.
type EvaluationResult struct {
	Decision bool           `json:"decision"`
	Context  map[string]any `json:"context,omitempty"`
}

// EvaluationsRequest is an AuthZEN boxcar: the embedded Evaluation holds the defaults of every
// item.
type EvaluationsRequest struct {
	Evaluation
	Evaluations []Evaluation `json:"evaluations"`
	Semantic    Semantic     `json:"-"`
}

// MarshalJSON writes the semantic under options.evaluations_semantic.
func (r EvaluationsRequest) MarshalJSON() ([]byte, error) {
	type plain EvaluationsRequest
	return json.Marshal(struct {
		plain
		Options *options `json:"options,omitempty"`
	}{plain: plain(r), Options: optionsFor(r.Semantic)})
}

// Evaluation asks the AuthZEN API for one decision. The caller asserts the subject; the
// client's PEP credentials (WithAPIKey, WithPEPToken) authenticate the call.
func (c *Client) Evaluation(ctx context.Context, ev Evaluation) (EvaluationResult, error) {
	var res EvaluationResult
	err := c.call(ctx, "/access/v1/evaluation", c.pepAuth, ev, &res)
	return res, err
}

// Evaluations asks the AuthZEN API for many decisions, answered in order and, with a
// short-circuit semantic, truncated after the deciding item. Without items the defaults are a
// single evaluation, answered as a one-item slice.
func (c *Client) Evaluations(ctx context.Context, req EvaluationsRequest) ([]EvaluationResult, error) {
	var out struct {
		EvaluationResult
		Evaluations []EvaluationResult `json:"evaluations"`
	}
	if err := c.call(ctx, "/access/v1/evaluations", c.pepAuth, req, &out); err != nil {
		return nil, err
	}
	if len(req.Evaluations) == 0 {
		return []EvaluationResult{out.EvaluationResult}, nil
	}
	if err := checkAnswers(len(out.Evaluations), len(req.Evaluations)); err != nil {
		return nil, err
	}
	return out.Evaluations, nil
}

// checkAnswers fails unless a batch of asked items got between one and asked answers (fewer
// when a short-circuit semantic truncated it), so a caller pairing answers with its requests
// by index never reads past them.
func checkAnswers(got, asked int) error {
	if got == 0 || got > asked {
		return fmt.Errorf("client: %d answers to %d evaluations", got, asked)
	}
	return nil
}

package engine

import (
	"errors"
	"time"
)

// Errors returned by evaluation. Each is a deny for the caller; httpapi maps them to statuses.
var (
	// ErrNoPolicy means no snapshot is active yet.
	ErrNoPolicy = errors.New("no active policy")
	// ErrEvaluation means the policy failed to evaluate (runtime error, conflict, bad result).
	ErrEvaluation = errors.New("policy evaluation failed")
	// ErrTimeout means the evaluation ran past the decision timeout.
	ErrTimeout = errors.New("policy evaluation timed out")
)

// Subject is who asks: built from verified token claims, never from a request body.
type Subject struct {
	Type       string         `json:"type"`
	ID         string         `json:"id"`
	Properties map[string]any `json:"properties,omitempty"`
}

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

// Token describes the token Verdict verified for the request.
type Token struct {
	Kind   string         `json:"kind"`
	Issuer string         `json:"issuer"`
	Claims map[string]any `json:"claims"`
}

// Input is the policy input document (docs/policies.md, "The contract with Verdict"). Token is
// nil when no token was verified.
type Input struct {
	Subject  Subject        `json:"subject"`
	Action   Action         `json:"action"`
	Resource Resource       `json:"resource"`
	Context  map[string]any `json:"context,omitempty"`
	Token    *Token         `json:"token,omitempty"`

	// Now, when set, is the instant of the decision: time.now_ns() evaluates to it. Callers
	// that stamp input.context.time set it to the same instant, so a policy reads one clock
	// and equal inputs get equal decisions. Zero means the evaluating process's clock.
	Now time.Time `json:"-"`

	// principal is the subject and token already converted, set by SetPrincipal.
	principal *Principal
}

// Decision is the outcome of one evaluation. Allow is true only when the policy returned a
// boolean true; everything else is a deny.
type Decision struct {
	Allow       bool             `json:"allow"`
	Reasons     []string         `json:"reasons"`
	Obligations []map[string]any `json:"obligations"`
	Risk        map[string]any   `json:"risk,omitempty"`
	// Revision is the bundle revision of the snapshot that answered.
	Revision string `json:"revision"`
}

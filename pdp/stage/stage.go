// Package stage tags the steps of a request with pprof labels, so a CPU profile of a busy
// server says what each step costs. Cumulative figures cannot: pprof keeps at most 64 frames
// of a stack, and OPA's evaluator recurses deeper than that, so most evaluation samples lose
// the frames that would tie them to the request step that ran them. A label set on the
// goroutine survives the cut.
//
// Entering a stage stores one pointer on the goroutine; the label sets are built once. Read a
// profile by stage with `go tool pprof -tagfocus stage=eval` or `-tags`.
package stage

import (
	"context"
	"runtime/pprof"
)

// Name is a step of the request path.
type Name int

// The steps of the request path, in order (docs/performance.md, "Where the time goes").
const (
	// HTTP is everything outside a handler: reading the request, routing, middleware, and the
	// connection's own work between requests.
	HTTP Name = iota
	// Token is bearer extraction and token verification, cache and revocation included.
	Token
	// Decode is reading and decoding the request body.
	Decode
	// Input is building the policy input.
	Input
	// Eval is the policy evaluation, converting the result included.
	Eval
	// Respond is counting, logging and encoding the answer.
	Respond
	count
)

var names = [count]string{"http", "token", "decode", "input", "eval", "respond"}

// labelled holds one context per stage carrying only that stage's label. It is built once and
// never written: entering a stage only points the goroutine at one of them.
var labelled = func() (out [count]context.Context) {
	for n := range count {
		out[n] = pprof.WithLabels(context.Background(), pprof.Labels("stage", names[n]))
	}
	return out
}()

// Enter marks the calling goroutine as working on stage n until the next Enter. Goroutines it
// starts inherit the mark.
func Enter(n Name) { pprof.SetGoroutineLabels(labelled[n]) }

// String returns the stage's label value.
func (n Name) String() string {
	if n < 0 || n >= count {
		return "unknown"
	}
	return names[n]
}

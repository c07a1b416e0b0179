package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/verdict-pdp/verdict/pdp/request"
)

// evalSemantic is how a batch decides when to stop: AuthZEN's options.evaluations_semantic,
// shared by /access/v1/evaluations and the native /v1/authorize/batch.
type evalSemantic string

// The evaluation semantics of AuthZEN 1.0 §7.1.2.1.
const (
	executeAll          evalSemantic = "execute_all"
	denyOnFirstDeny     evalSemantic = "deny_on_first_deny"
	permitOnFirstPermit evalSemantic = "permit_on_first_permit"
)

// batchOptions is the options member of a batch request. Unknown options are ignored.
type batchOptions struct {
	Semantic *string `json:"evaluations_semantic"`
}

// parseSemantic reads options.evaluations_semantic; absent means execute_all.
func parseSemantic(raw json.RawMessage) (evalSemantic, error) {
	if request.IsAbsent(raw) {
		return executeAll, nil
	}
	if !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		return "", badRequest("options must be a JSON object")
	}
	var opts batchOptions
	if err := json.Unmarshal(raw, &opts); err != nil {
		return "", badRequest("options.evaluations_semantic must be a string")
	}
	if opts.Semantic == nil {
		return executeAll, nil
	}
	switch sem := evalSemantic(*opts.Semantic); sem {
	case executeAll, denyOnFirstDeny, permitOnFirstPermit:
		return sem, nil
	default:
		return "", badRequest(fmt.Sprintf("options.evaluations_semantic must be %s, %s or %s",
			executeAll, denyOnFirstDeny, permitOnFirstPermit))
	}
}

// runItems runs a batch's items under the server's bounds: at most server.batch_concurrency at
// once, and all within server.write_timeout, past which the answer could no longer be written,
// so items still to run fail with the deadline (a deny with an error) instead of working on for
// nobody.
func (s *Server) runItems(ctx context.Context, n int, sem evalSemantic, eval func(ctx context.Context, i int) bool) int {
	if t := s.cfg.Server.WriteTimeout; t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	return runBatch(ctx, n, s.cfg.Server.BatchConcurrency, sem, eval)
}

// decides reports whether an item with this outcome ends the batch.
func (sem evalSemantic) decides(allow bool) bool {
	switch sem {
	case denyOnFirstDeny:
		return !allow
	case permitOnFirstPermit:
		return allow
	default:
		return false
	}
}

// runBatch evaluates items 0..n-1 with at most limit in flight, handing them out in request
// order, and returns how many leading items make the answer: n for execute_all, or up to and
// including the first item (in request order) that decides a short-circuit semantic. Items
// after a deciding one that have not started are skipped; items already in flight finish (and
// are logged) but are not answered. eval stores its own result and reports whether it allowed.
// A panicking eval stops the hand-out and, once every worker has ended, panics again in the
// caller's goroutine, where the recovery middleware logs it and answers 500 for the whole
// request: no item is answered with a decision that was never made.
func runBatch(ctx context.Context, n, limit int, sem evalSemantic, eval func(ctx context.Context, i int) bool) int {
	var (
		mu      sync.Mutex
		next    int
		first   = n // the smallest index known to decide the batch
		crashed any // the first panic of an item
	)
	take := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if next >= n || next > first || crashed != nil {
			return 0, false
		}
		next++
		return next - 1, true
	}
	decided := func(i int) {
		mu.Lock()
		first = min(first, i)
		mu.Unlock()
	}
	run := func(i int) {
		defer func() {
			if v := recover(); v != nil {
				mu.Lock()
				if crashed == nil {
					crashed = v
				}
				mu.Unlock()
			}
		}()
		if sem.decides(eval(ctx, i)) {
			decided(i)
		}
	}
	var wg sync.WaitGroup
	for range max(1, min(limit, n)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, ok := take(); ok; i, ok = take() {
				run(i)
			}
		}()
	}
	wg.Wait()
	if crashed != nil {
		panic(fmt.Sprintf("batch item: %v", crashed))
	}
	if first == n {
		return n
	}
	return first + 1
}

// itemError is how a failed batch item is described to the caller, from the one classifier.
type itemError struct {
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// newItemError classifies err for a batch item and logs the detail.
func (s *Server) newItemError(ctx context.Context, i int, err error) *itemError {
	e := classify(err)
	s.log.Info("batch item failed", "request_id", requestID(ctx), "item", i, "status", e.status, "code", e.code, "error", err)
	return &itemError{Status: e.status, Code: e.code, Message: e.message}
}

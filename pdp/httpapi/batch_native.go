package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/verdict-pdp/verdict/pdp/engine"
	"github.com/verdict-pdp/verdict/pdp/request"
	"github.com/verdict-pdp/verdict/pdp/token"
)

// batchRequest is the body of POST /v1/authorize/batch: many native requests for one token.
type batchRequest struct {
	Evaluations []json.RawMessage `json:"evaluations"`
	Options     json.RawMessage   `json:"options"`
}

// batchItem is one answer of a native batch: a native decision, or an error for an item that
// was itself invalid or failed (then allow is false).
type batchItem struct {
	authorizeResponse
	Error *itemError `json:"error,omitempty"`
	// answer is the item's JSON already made (nativeAnswer), for an item without error.
	answer []byte
}

// MarshalJSON writes an item without error from its answer when it has one.
func (it batchItem) MarshalJSON() ([]byte, error) {
	if it.Error == nil && it.answer != nil {
		return it.answer, nil
	}
	type plain batchItem // without this method
	return json.Marshal(plain(it))
}

// batchResponse is the body of a native batch answer, items in request order.
type batchResponse struct {
	Evaluations []batchItem `json:"evaluations"`
}

func (s *Server) handleAuthorizeBatch(w http.ResponseWriter, r *http.Request) {
	p, err := s.principal(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req batchRequest
	if err := decodeJSON(w, r, s.cfg.Server.MaxBodyBytes, request.NativeBatchShape, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	sem, err := s.checkBatch(len(req.Evaluations), req.Options)
	if err == nil && len(req.Evaluations) == 0 {
		err = badRequest("evaluations must hold at least one item")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	items := make([]batchItem, len(req.Evaluations))
	n := s.runItems(r.Context(), len(items), sem, func(ctx context.Context, i int) bool {
		items[i] = s.nativeItem(ctx, r.URL.Path, p, i, req.Evaluations[i])
		return items[i].Allow
	})
	writeJSON(w, http.StatusOK, batchResponse{Evaluations: items[:n]})
}

// checkBatch checks what every batch needs before any item runs: a size within
// server.max_batch, a known semantic and an active policy.
func (s *Server) checkBatch(n int, options json.RawMessage) (evalSemantic, error) {
	if n > s.cfg.Server.MaxBatch {
		return "", badRequest(fmt.Sprintf("evaluations holds %d items; the limit is %d", n, s.cfg.Server.MaxBatch))
	}
	sem, err := parseSemantic(options)
	if err != nil {
		return "", err
	}
	return sem, s.requirePolicy()
}

// requirePolicy fails with engine.ErrNoPolicy before any work when no snapshot is active, so
// a batch answers 503 as a whole rather than an error per item.
func (s *Server) requirePolicy() error {
	if s.deps.Policy.Current() == nil {
		return engine.ErrNoPolicy
	}
	return nil
}

// nativeItem decodes, validates and decides one native batch item.
func (s *Server) nativeItem(ctx context.Context, path string, p *token.Principal, i int, raw json.RawMessage) batchItem {
	failed := func(err error) batchItem {
		return batchItem{authorizeResponse: nativeResponse("", engine.Decision{}), Error: s.newItemError(ctx, i, err)}
	}
	id, o, err := s.decideNative(ctx, path, p, raw)
	if id == "" {
		// Refused before any decision: the item itself is malformed or invalid.
		return failed(err)
	}
	item := batchItem{authorizeResponse: nativeResponse(id, o.decision)}
	if err != nil {
		// The failed decision was logged under id: keep it, so the answer joins the log.
		item.Error = s.newItemError(ctx, i, err)
	} else if o.native != nil {
		item.answer = nativeAnswer(id, &o)
	}
	return item
}

package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"time"

	"github.com/verdict-pdp/verdict/pdp/engine"
	"github.com/verdict-pdp/verdict/pdp/request"
	"github.com/verdict-pdp/verdict/pdp/stage"
	"github.com/verdict-pdp/verdict/pdp/token"
)

// authorizeResponse is the native decision.
type authorizeResponse struct {
	DecisionID  string           `json:"decision_id"`
	Allow       bool             `json:"allow"`
	Reasons     []string         `json:"reasons"`
	Obligations []map[string]any `json:"obligations"`
	Risk        map[string]any   `json:"risk,omitempty"`
	Revision    string           `json:"revision"`
}

func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	p, err := s.principal(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	body, err := readJSON(w, r, s.cfg.Server.MaxBodyBytes)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	mode, err := s.explainMode(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if mode != "" {
		s.writeExplainedNative(w, r, p, body, mode)
		return
	}
	id, o, err := s.decideNative(r.Context(), r.URL.Path, p, body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeBody(w, http.StatusOK, nativeAnswer(id, &o))
}

// nativeTailPrefix is how the native answer starts when its decision id is empty.
const nativeTailPrefix = `{"decision_id":"",`

// nativeTail encodes the native answer for d from its second member on: the part that is the
// same for every request the decision answers.
func nativeTail(d engine.Decision) []byte {
	b, err := json.Marshal(nativeResponse("", d))
	if err != nil || !bytes.HasPrefix(b, []byte(nativeTailPrefix)) {
		return nil // nativeAnswer then encodes per request
	}
	return b[len(nativeTailPrefix):]
}

// nativeAnswer is the JSON of the native answer for decision id: the cached tail behind the
// id when there is one, else the whole answer encoded now.
func nativeAnswer(id string, o *outcome) []byte {
	if o.native == nil {
		b, _ := json.Marshal(nativeResponse(id, o.decision))
		return b
	}
	b := make([]byte, 0, len(`{"decision_id":"",`)+len(id)+len(o.native))
	b = append(b, `{"decision_id":"`...)
	b = append(b, id...)
	b = append(b, `",`...)
	return append(b, o.native...)
}

func nativeResponse(id string, d engine.Decision) authorizeResponse {
	resp := authorizeResponse{DecisionID: id, Allow: d.Allow, Reasons: d.Reasons, Obligations: d.Obligations,
		Risk: d.Risk, Revision: d.Revision}
	if resp.Reasons == nil {
		resp.Reasons = []string{}
	}
	if resp.Obligations == nil {
		resp.Obligations = []map[string]any{}
	}
	return resp
}

// principal verifies the request's bearer token.
func (s *Server) principal(r *http.Request) (*token.Principal, error) {
	return s.verify(r.Context(), r.Header)
}

// verify verifies the bearer token of h: the service step's token check, for every API and
// for forward auth over either transport (Principal).
func (s *Server) verify(ctx context.Context, h http.Header) (*token.Principal, error) {
	stage.Enter(stage.Token)
	raw, err := token.BearerToken(h, s.cfg.Tokens.MaxTokenBytes)
	if err != nil {
		return nil, err
	}
	p, err := s.deps.Tokens.Verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	// Rate limits by client or subject apply here, where the key is first known and trusted.
	if err := s.limitPrincipal(p); err != nil {
		return nil, err
	}
	return p, nil
}

// decideNative decides one native request body (of /v1/authorize, or an item of a batch) for
// principal p: decoded, validated and built into an input only when no decision can be
// reused (decideRequest).
func (s *Server) decideNative(ctx context.Context, path string, p *token.Principal, body []byte) (string, outcome, error) {
	now := s.decisionTime()
	return s.decideRequest(ctx, path, keyNative, p, body, now, func() (*engine.Input, error) {
		in, err := request.DecodeRequest(body)
		if err != nil {
			return nil, err
		}
		request.ApplyPrincipal(in, p)
		stampTime(in, now)
		return in, nil
	})
}

// stampTime sets context.time to the server's clock on every API: risk rules judge off-hours
// access and MFA freshness by it, so no caller chooses it.
func (s *Server) stampTime(in *engine.Input) { stampTime(in, s.decisionTime()) }

// stampTime sets context.time, and the instant time.now_ns() gives the policy, to now. The
// caller's context is copied first; batch items share their default context.
func stampTime(in *engine.Input, now time.Time) {
	ctx := make(map[string]any, len(in.Context)+1)
	maps.Copy(ctx, in.Context)
	ctx["time"] = now.Format(time.RFC3339)
	in.Context = ctx
	in.Now = now
}

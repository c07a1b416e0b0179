package forwardauth

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/verdict-pdp/verdict/pdp/engine"
	"github.com/verdict-pdp/verdict/pdp/token"
)

// fakeService routes GET /records/{id} to read record and decides from the resource id; it
// accepts the bearer token "good" as alice and is out of reach for "offline".
type fakeService struct {
	routesErr error
	decided   []*engine.Input
}

func (f *fakeService) Principal(_ context.Context, h http.Header) (*token.Principal, error) {
	raw, err := token.BearerToken(h, 0)
	if err != nil {
		return nil, err
	}
	switch raw {
	case "good":
		return &token.Principal{Subject: "alice"}, nil
	case "offline":
		return nil, token.ErrUnavailable
	default:
		return nil, token.ErrInvalidToken
	}
}

func (f *fakeService) Routes(context.Context) (*Routes, error) {
	if f.routesErr != nil {
		return nil, f.routesErr
	}
	r, err := compileRoute(routeDoc{Methods: []string{"GET"}, Path: "/records/{id}", Action: "read", ResourceType: "record"})
	return &Routes{rules: []routeRule{r}}, err
}

func (f *fakeService) EnrichResource(_ context.Context, in *engine.Input) {
	in.Resource.Properties = map[string]any{"owner": "alice"}
}

func (f *fakeService) Decide(_ context.Context, _ Request, p *token.Principal, in *engine.Input) (string, engine.Decision, error) {
	f.decided = append(f.decided, in)
	d := engine.Decision{Revision: "r1"}
	switch in.Resource.ID {
	case "mine":
		d.Allow = true
	case "mfa":
		d.Obligations = []map[string]any{{"type": "step_up", "acr_values": []any{"urn:mfa"}}}
	case "broken":
		return "id-1", engine.Decision{}, engine.ErrEvaluation
	}
	return "id-1", d, nil
}

func (f *fakeService) Refusal(err error) (int, string) {
	var stepUp *StepUpError
	switch {
	case errors.As(err, &stepUp):
		return 401, stepUp.Challenge()
	case errors.Is(err, ErrAccessDenied):
		return 403, ""
	case errors.Is(err, token.ErrNoCredentials), errors.Is(err, token.ErrInvalidToken):
		return 401, "Bearer"
	case errors.Is(err, engine.ErrEvaluation):
		return 500, ""
	default:
		return 503, ""
	}
}

// TestCheck pins the core's answers: which refusals are outcomes (with status, challenge and
// reason) and which failures are errors, that the token comes first, and that a refused path
// never reaches the policy.
func TestCheck(t *testing.T) {
	tests := []struct {
		name      string
		auth      string
		uri       string
		routesErr error
		allowed   bool
		status    int
		reason    string
		challenge bool
		decided   bool
		err       error
	}{
		{name: "allow", auth: "Bearer good", uri: "/records/mine", allowed: true, status: 200, decided: true},
		{name: "policy deny", auth: "Bearer good", uri: "/records/other", status: 403, reason: "denied", decided: true},
		{name: "step-up", auth: "Bearer good", uri: "/records/mfa", status: 401, challenge: true, decided: true},
		{name: "no route", auth: "Bearer good", uri: "/other/x", status: 403, reason: "no-route"},
		{name: "encoded slash", auth: "Bearer good", uri: "/records/a%2F..%2Fmine", status: 403, reason: "refused"},
		{name: "no token before a bad path", uri: "/records/a%2Fb", status: 401, challenge: true},
		{name: "bad token", auth: "Bearer bad", uri: "/records/mine", status: 401, challenge: true},
		{name: "keys offline is an error", auth: "Bearer offline", uri: "/records/mine", status: 503, err: token.ErrUnavailable},
		{name: "no policy is an error", auth: "Bearer good", uri: "/records/mine", routesErr: engine.ErrNoPolicy,
			status: 503, err: engine.ErrNoPolicy},
		{name: "failed evaluation is an error", auth: "Bearer good", uri: "/records/broken", status: 500,
			decided: true, err: engine.ErrEvaluation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &fakeService{routesErr: tt.routesErr}
			c := New(Deps{Service: svc})
			h := http.Header{}
			if tt.auth != "" {
				h.Set("Authorization", tt.auth)
			}
			o, err := c.Check(t.Context(), Request{Method: "GET", URI: tt.uri, DefaultMethod: "GET", Peer: "192.0.2.1", Header: h})
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if o.Allowed != tt.allowed || o.Status != tt.status || o.Reason != tt.reason || (o.Challenge != "") != tt.challenge {
				t.Errorf("outcome %+v", o)
			}
			if (len(svc.decided) > 0) != tt.decided {
				t.Fatalf("decided %d times, want %v", len(svc.decided), tt.decided)
			}
			if tt.err == nil && !tt.allowed && o.Refusal == nil {
				t.Errorf("a refusal without its error")
			}
			if tt.allowed && (o.Subject != "alice" || o.DecisionID != "id-1" || o.Revision != "r1") {
				t.Errorf("allowed outcome %+v", o)
			}
			if tt.decided {
				in := svc.decided[0]
				if in.Action.Name != "read" || in.Resource.Type != "record" || in.Context["ip"] != "192.0.2.1" ||
					in.Resource.Properties["owner"] != "alice" {
					t.Errorf("input %+v", in)
				}
			}
		})
	}
}

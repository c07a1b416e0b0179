package client

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestMiddleware(t *testing.T) {
	deny := `{"decision_id":"d2","allow":false,"reasons":["no"],"obligations":[],"revision":"r1"}`
	stepUp := `{"decision_id":"d3","allow":false,"reasons":["mfa"],"revision":"r1",` +
		`"obligations":[{"type":"step_up","acr_values":["urn:verdict:mfa"],"max_age":300}]}`
	allowWithLog := `{"decision_id":"d4","allow":true,"reasons":["ok"],"revision":"r1","obligations":[{"type":"log"}]}`
	mapRead := func(r *http.Request) (Request, error) {
		return Request{Action: Action{Name: "read"}, Resource: Resource{Type: "doc", ID: strings.TrimPrefix(r.URL.Path, "/docs/")}}, nil
	}
	failMap := func(*http.Request) (Request, error) { return Request{}, errors.New("unmapped") }
	okHook := WithObligationHook(func(*http.Request, []Obligation) error { return nil })
	badHook := WithObligationHook(func(*http.Request, []Obligation) error { return errors.New("cannot log") })
	tests := []struct {
		name      string
		body      string
		statuses  []int
		noToken   bool
		mapper    Mapper
		opts      []MiddlewareOption
		status    int
		challenge string
		reached   bool
	}{
		{name: "allow reaches the handler", body: allowBody, statuses: []int{200}, status: 200, reached: true},
		{name: "deny is 403", body: deny, statuses: []int{200}, status: 403},
		{name: "step-up is 401 with a challenge", body: stepUp, statuses: []int{200}, status: 401,
			challenge: `Bearer realm="verdict", error="insufficient_user_authentication", acr_values="urn:verdict:mfa", max_age="300"`},
		{name: "no token is 401", noToken: true, body: allowBody, statuses: []int{200}, status: 401, challenge: `Bearer realm="verdict"`},
		{name: "a refused token passes Verdict's challenge", statuses: []int{401}, status: 401, challenge: `error="invalid_token"`},
		{name: "a mapping error is 403", body: allowBody, statuses: []int{200}, mapper: failMap, status: 403},
		{name: "a bad request to Verdict is 403", statuses: []int{400}, status: 403},
		{name: "Verdict failing is 503", statuses: []int{500}, status: 503},
		{name: "Verdict unavailable is 503", statuses: []int{503}, status: 503},
		{name: "obligations without a hook are refused", body: allowWithLog, statuses: []int{200}, status: 403},
		{name: "obligations the hook fulfils", body: allowWithLog, statuses: []int{200}, opts: []MiddlewareOption{okHook},
			status: 200, reached: true},
		{name: "obligations the hook cannot fulfil", body: allowWithLog, statuses: []int{200}, opts: []MiddlewareOption{badHook},
			status: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c := newFake(t, tt.body, tt.statuses...)
			c.retries = 0
			reached := false
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				d, ok := DecisionFrom(r.Context())
				reached = ok && d.Allow
				w.WriteHeader(http.StatusOK)
			})
			mapper := tt.mapper
			if mapper == nil {
				mapper = mapRead
			}
			h := c.Middleware(next, mapper, tt.opts...)
			req := httptest.NewRequest(http.MethodGet, "/docs/1", nil)
			if !tt.noToken {
				req.Header.Set("Authorization", "Bearer tok")
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status || reached != tt.reached {
				t.Fatalf("status %d (reached %v), want %d (%v)", rec.Code, reached, tt.status, tt.reached)
			}
			if got := rec.Header().Get("WWW-Authenticate"); !strings.Contains(got, tt.challenge) || (got == "") != (tt.challenge == "") {
				t.Errorf("WWW-Authenticate %q, want %q", got, tt.challenge)
			}
		})
	}
}

func TestMiddlewareFailsClosedWhenVerdictIsDown(t *testing.T) {
	c, _ := New("http://127.0.0.1:1", WithTimeout(200*time.Millisecond))
	h := c.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("handler reached") }),
		func(*http.Request) (Request, error) { return Request{}, nil })
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Bearer tok")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("status %d", rec.Code)
	}
}

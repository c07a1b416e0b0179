package engine

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/verdict-pdp/verdict/pdp/config"
)

// A prepared principal gives exactly the input that converting the subject and token per
// request gives, and is dropped as soon as the caller replaces either.
func TestPreparedPrincipal(t *testing.T) {
	full := builtinInput("admin", "delete", "acme")
	p, err := NewPrincipal(full.Subject, full.Token)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(in *Input)
		reused bool
	}{
		{name: "as set", change: func(*Input) {}, reused: true},
		{name: "subject replaced", change: func(in *Input) { in.Subject = Subject{Type: "user", ID: "mallory"} }},
		{name: "subject id changed", change: func(in *Input) { in.Subject.ID = "mallory" }},
		{name: "properties replaced", change: func(in *Input) {
			in.Subject.Properties = map[string]any{"roles": []any{"admin"}}
		}},
		{name: "token replaced", change: func(in *Input) { in.Token = &Token{Kind: "jwt", Issuer: "https://other"} }},
		{name: "token removed", change: func(in *Input) { in.Token = nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &Input{Action: full.Action, Resource: full.Resource, Context: full.Context}
			in.SetPrincipal(p)
			tt.change(in)
			if got := in.prepared() != nil; got != tt.reused {
				t.Errorf("prepared values reused = %v; want %v", got, tt.reused)
			}
			got, err := inputValue(in)
			if err != nil {
				t.Fatal(err)
			}
			plain := *in
			plain.principal = nil
			want, err := inputValue(&plain)
			if err != nil {
				t.Fatal(err)
			}
			if got.Compare(want) != 0 {
				t.Errorf("input = %v\nwant    %v", got, want)
			}
		})
	}
}

func TestNewPrincipalRefusesBadClaims(t *testing.T) {
	_, err := NewPrincipal(Subject{ID: "alice"}, &Token{Claims: map[string]any{"exp": json.Number("soon")}})
	if !errors.Is(err, ErrInvalidInput) {
		t.Errorf("NewPrincipal() error = %v; want ErrInvalidInput", err)
	}
}

// Input.Now is the instant time.now_ns() gives the policy.
func TestDecideAtNow(t *testing.T) {
	e := newEngine(t, config.Policy{})
	activate(t, e, decisionBundle(t, "r1", `decision := {"allow": true, "reasons": [sprintf("%d", [time.now_ns()])]}`))
	at := time.Date(2026, 12, 6, 10, 0, 7, 0, time.UTC)
	d, err := e.Decide(context.Background(), &Input{Now: at})
	if err != nil {
		t.Fatal(err)
	}
	if want := strconv.FormatInt(at.UnixNano(), 10); len(d.Reasons) != 1 || d.Reasons[0] != want {
		t.Errorf("reasons = %v; want the pinned instant %s", d.Reasons, want)
	}
}

func TestRepeatable(t *testing.T) {
	tests := []struct {
		name string
		body string
		want bool
	}{
		{name: "plain rules", body: `decision := {"allow": input.x == 1}`, want: true},
		{name: "clock, pinned by Now", body: `decision := {"allow": time.now_ns() > 0}`, want: true},
		{name: "random number", body: `decision := {"allow": rand.intn("x", 10) == 1}`, want: false},
		{name: "uuid in a helper rule", body: "id := uuid.rfc4122(\"x\")\n\ndecision := {\"allow\": true}", want: false},
		{name: "network", body: `decision := {"allow": http.send({"method": "GET", "url": "http://127.0.0.1:1"}).status_code == 200}`, want: false},
		{name: "nested call", body: `decision := {"allow": count([rand.intn("y", 3)]) == 1}`, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t, config.Policy{})
			s := activate(t, e, decisionBundle(t, "r1", tt.body))
			if got := s.Repeatable(); got != tt.want {
				t.Errorf("Repeatable() = %v; want %v", got, tt.want)
			}
		})
	}
}

package engine

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"testing"
	"time"

	vbundle "github.com/verdict-pdp/verdict/pdp/bundle"
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

func TestDecisionFacts(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		repeatable bool
		readsClock bool
		allow      []string
	}{
		{name: "plain rules", body: `decision := {"allow": input.x == 1}`, repeatable: true},
		{name: "other context members", body: `decision := {"allow": input.context.ip == "1.2.3.4"}`, repeatable: true},
		{name: "clock, pinned by Now", body: `decision := {"allow": time.now_ns() > 0}`, repeatable: true, readsClock: true},
		{name: "context.time", body: `decision := {"allow": input.context.time != ""}`, repeatable: true, readsClock: true},
		{name: "whole context", body: `decision := {"allow": count(input.context) > 0}`, repeatable: true, readsClock: true},
		{name: "whole input through a helper rule", body: "i := input\n\ndecision := {\"allow\": i.context.time != \"\"}",
			repeatable: true, readsClock: true},
		{name: "context member chosen at run time", body: `decision := {"allow": input.context[input.k] == 1}`,
			repeatable: true, readsClock: true},
		{name: "clock in an else branch", body: "decision := {\"allow\": false} if input.x == 1 else := {\"allow\": time.now_ns() > 0}",
			repeatable: true, readsClock: true},
		{name: "clock in a function", body: "late(n) if n > time.now_ns()\n\ndecision := {\"allow\": late(input.n)}",
			repeatable: true, readsClock: true},
		{name: "random number", body: `decision := {"allow": rand.intn("x", 10) == 1}`},
		{name: "uuid in a helper rule", body: "id := uuid.rfc4122(\"x\")\n\ndecision := {\"allow\": id != \"\"}"},
		{name: "network, opted in", body: `decision := {"allow": http.send({"method": "GET", "url": "http://127.0.0.1:1"}).status_code == 200}`,
			allow: []string{"http.send"}},
		{name: "nested call", body: `decision := {"allow": count([rand.intn("y", 3)]) == 1}`},
		{name: "a rule the decision does not use", body: "unused := rand.intn(\"z\", 2) + time.now_ns()\n\ndecision := {\"allow\": true}",
			repeatable: true},
		{name: "a test in the bundle", body: "test_clock if time.now_ns() > 0 with input as {\"context\": {}}\n\ndecision := {\"allow\": true}",
			repeatable: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t, config.Policy{AllowBuiltins: tt.allow})
			s := activate(t, e, decisionBundle(t, "r1", tt.body))
			if got := s.Repeatable(); got != tt.repeatable {
				t.Errorf("Repeatable() = %v; want %v", got, tt.repeatable)
			}
			if got := s.ReadsClock(); got != tt.readsClock {
				t.Errorf("ReadsClock() = %v; want %v", got, tt.readsClock)
			}
		})
	}
}

// The built-in policy reuses decisions within their second only: its risk rules read the clock.
func TestBuiltinDecisionFacts(t *testing.T) {
	b, err := vbundle.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	s := activate(t, newEngine(t, config.Policy{}), b)
	if !s.Repeatable() || !s.ReadsClock() {
		t.Errorf("Repeatable() = %v, ReadsClock() = %v; want true, true", s.Repeatable(), s.ReadsClock())
	}
}

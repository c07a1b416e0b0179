package engine

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/verdict-pdp/verdict/pdp/config"
)

// explainPolicy writes a note with trace() on the way to its allow, and has a rule that fails
// for an editor in another tenant.
const explainPolicy = `default decision := {"allow": false, "reasons": ["no grant"]}

decision := {"allow": true, "reasons": ["tenant matches"]} if {
	same_tenant
	trace(sprintf("granting %s", [input.action.name]))
}

same_tenant if input.subject.properties.tenant == input.resource.properties.tenant

hour := time.clock([time.now_ns(), "UTC"])[0]`

func TestDecideExplained(t *testing.T) {
	tests := []struct {
		name      string
		mode      ExplainMode
		tenant    string
		wantAllow bool
		// want are texts that some line must contain; absent are texts no line may contain.
		want, absent []string
	}{
		{name: "notes show the note and the rule that wrote it", mode: ExplainNotes, tenant: "acme", wantAllow: true,
			want:   []string{`Note "granting read"`, "Enter data.verdict.authz.decision", "authz.rego:"},
			absent: []string{"Fail"}},
		{name: "notes are empty when no note is written", mode: ExplainNotes, tenant: "globex"},
		{name: "fails show the failed comparison", mode: ExplainFails, tenant: "globex",
			want: []string{"Fail input.subject.properties.tenant = input.resource.properties.tenant"}},
		{name: "full shows every rule", mode: ExplainFull, tenant: "acme", wantAllow: true,
			want: []string{"Enter data.verdict.authz.decision", "Enter data.verdict.authz.same_tenant", "Exit data.verdict.authz.decision"}},
	}
	e := newEngine(t, config.Policy{})
	s := activate(t, e, decisionBundle(t, "r1", explainPolicy))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, lines, err := s.DecideExplained(context.Background(), editorInput("read", tt.tenant), tt.mode)
			if err != nil {
				t.Fatalf("DecideExplained() error = %v", err)
			}
			plain, err := s.Decide(context.Background(), editorInput("read", tt.tenant))
			if err != nil || d.Allow != tt.wantAllow || !slices.Equal(d.Reasons, plain.Reasons) || d.Revision != "r1" {
				t.Errorf("DecideExplained() = %+v, Decide() = %+v, %v; want allow %v and the same decision", d, plain, err, tt.wantAllow)
			}
			text := strings.Join(lines, "\n")
			if len(tt.want) == 0 && len(lines) != 0 {
				t.Errorf("lines = %q, want none", text)
			}
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("lines do not contain %q:\n%s", w, text)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(text, a) {
					t.Errorf("lines contain %q:\n%s", a, text)
				}
			}
		})
	}
}

func TestDecideExplainedFailsClosed(t *testing.T) {
	tests := []struct {
		name    string
		policy  string
		mode    ExplainMode
		wantErr error
	}{
		{name: "unknown mode", policy: `decision := true`, mode: "debug", wantErr: ErrExplainMode},
		{name: "empty mode", policy: `decision := true`, mode: "", wantErr: ErrExplainMode},
		{name: "evaluation error", policy: `decision := {"allow": to_number(input.resource.id) > 0}`, mode: ExplainFull,
			wantErr: ErrEvaluation},
		{name: "undefined decision", policy: `decision := true if input.context.never`, mode: ExplainFails,
			wantErr: ErrEvaluation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := activate(t, newEngine(t, config.Policy{}), decisionBundle(t, "r1", tt.policy))
			d, _, err := s.DecideExplained(context.Background(), editorInput("read", "acme"), tt.mode)
			if !errors.Is(err, tt.wantErr) || d.Allow {
				t.Errorf("DecideExplained() = %+v, %v; want a deny and %v", d, err, tt.wantErr)
			}
		})
	}
}

func TestQueryExplained(t *testing.T) {
	s := activate(t, newEngine(t, config.Policy{}), decisionBundle(t, "r1", explainPolicy))
	in := editorInput("read", "acme")
	in.Now = time.Date(2026, 11, 22, 15, 4, 5, 0, time.UTC)
	tests := []struct {
		name        string
		path        string
		mode        ExplainMode
		want        any
		wantDefined bool
		wantLines   bool
		wantErr     error
	}{
		{name: "a rule's value", path: "verdict/authz/same_tenant", want: true, wantDefined: true},
		{name: "time.now_ns is the input's instant", path: "verdict/authz/hour", want: "15", wantDefined: true},
		{name: "traced", path: "verdict/authz/same_tenant", mode: ExplainFull, want: true, wantDefined: true, wantLines: true},
		{name: "undefined", path: "verdict/authz/nothing", mode: ExplainFull, wantLines: true},
		{name: "bad path", path: "verdict//authz", wantErr: ErrInvalidPath},
		{name: "bad mode", path: "verdict/authz/same_tenant", mode: "all", wantErr: ErrExplainMode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, defined, lines, err := s.QueryExplained(context.Background(), tt.path, in, tt.mode)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("QueryExplained() error = %v, want %v", err, tt.wantErr)
			}
			if s, ok := got.(interface{ String() string }); ok {
				got = s.String()
			}
			if got != tt.want || defined != tt.wantDefined || (len(lines) > 0) != tt.wantLines {
				t.Errorf("QueryExplained() = %v, %v, %d lines; want %v, %v, lines %v", got, defined, len(lines), tt.want, tt.wantDefined, tt.wantLines)
			}
		})
	}
}

func TestParseExplainMode(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    ExplainMode
		wantErr bool
	}{
		{name: "notes", in: "notes", want: ExplainNotes},
		{name: "fails", in: "fails", want: ExplainFails},
		{name: "full", in: "full", want: ExplainFull},
		{name: "debug is not offered", in: "debug", wantErr: true},
		{name: "case matters", in: "Full", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseExplainMode(tt.in)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("ParseExplainMode(%q) = %q, %v", tt.in, got, err)
			}
		})
	}
}

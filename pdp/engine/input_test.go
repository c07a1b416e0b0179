package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

// TestInputMatchesJSON checks that the input built from the typed Input is the document a JSON
// encoding of it would give, so policies see the same input from every caller.
func TestInputMatchesJSON(t *testing.T) {
	tests := []struct {
		name string
		in   *Input
	}{
		{name: "empty", in: &Input{}},
		{name: "editor read", in: editorInput("read", "acme")},
		{name: "full request with token", in: builtinInput("admin", "delete", "acme")},
		{
			name: "nested values and numbers",
			in: &Input{
				Subject: Subject{Type: "service", ID: "billing", Properties: map[string]any{
					"n": json.Number("1.5e3"), "i": 42, "f": 0.25, "nested": map[string]any{"list": []any{1, "two", nil, true}},
					"strings": []string{"a", "b"}, "labels": map[string]string{"env": "prod"},
				}},
				Action:   Action{Name: "share", Properties: map[string]any{"with": []any{"bob"}}},
				Resource: Resource{Type: "project", ID: "p-1"},
				Context:  map[string]any{"new_device": true, "failed_logins_24h": json.Number("3")},
			},
		},
		{name: "token without claims", in: &Input{Token: &Token{Kind: "opaque", Issuer: "https://idp"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := inputValue(tt.in)
			if err != nil {
				t.Fatalf("inputValue() error = %v", err)
			}
			raw, err := json.Marshal(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.UseNumber()
			var doc any
			if err := dec.Decode(&doc); err != nil {
				t.Fatal(err)
			}
			want := ast.MustInterfaceToValue(doc)
			if got.Compare(want) != 0 {
				t.Errorf("input = %v\nwant    %v", got, want)
			}
		})
	}
}

func TestInputErrors(t *testing.T) {
	tests := []struct {
		name string
		in   *Input
	}{
		{name: "nil"},
		{name: "bad number in subject", in: &Input{Subject: Subject{Properties: map[string]any{"n": json.Number("x")}}}},
		{name: "bad number in action", in: &Input{Action: Action{Properties: map[string]any{"n": json.Number("")}}}},
		{name: "bad number deep in a list", in: &Input{Context: map[string]any{"l": []any{map[string]any{"n": json.Number("1.")}}}}},
		{name: "bad number in claims", in: &Input{Token: &Token{Claims: map[string]any{"exp": json.Number("soon")}}}},
		{name: "number too big for OPA", in: &Input{Context: map[string]any{"x": json.Number("1e999999")}}},
		{name: "function in context", in: &Input{Context: map[string]any{"f": func() {}}}},
		{name: "channel in claims", in: &Input{Token: &Token{Claims: map[string]any{"c": make(chan int)}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := inputValue(tt.in); !errors.Is(err, ErrInvalidInput) || !errors.Is(err, ErrEvaluation) {
				t.Fatalf("inputValue() error = %v, want ErrInvalidInput and ErrEvaluation", err)
			}
		})
	}
}

func TestIsJSONNumber(t *testing.T) {
	tests := []struct {
		name string
		s    string
		want bool
	}{
		{name: "zero", s: "0", want: true},
		{name: "integer", s: "1700000000", want: true},
		{name: "negative", s: "-12", want: true},
		{name: "fraction", s: "0.25", want: true},
		{name: "exponent", s: "1.5e3", want: true},
		{name: "signed exponent", s: "2E-7", want: true},
		{name: "empty", s: ""},
		{name: "word", s: "twelve"},
		{name: "leading zero", s: "012"},
		{name: "leading plus", s: "+1"},
		{name: "bare minus", s: "-"},
		{name: "trailing dot", s: "1."},
		{name: "leading dot", s: ".5"},
		{name: "empty exponent", s: "1e"},
		{name: "hex", s: "0x10"},
		{name: "infinity", s: "Inf"},
		{name: "trailing space", s: "1 "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isJSONNumber(tt.s); got != tt.want {
				t.Errorf("isJSONNumber(%q) = %v, want %v", tt.s, got, tt.want)
			}
		})
	}
}

package engine

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/verdict-pdp/verdict/pdp/config"
)

func TestQuery(t *testing.T) {
	e := newEngine(t, config.Policy{})
	s := activate(t, e, loadEditor(t))
	editorDoc := map[string]any{
		"subject":  map[string]any{"properties": map[string]any{"roles": []any{"editor"}, "tenant": "acme"}},
		"action":   map[string]any{"name": "update"},
		"resource": map[string]any{"properties": map[string]any{"tenant": "acme", "size": json.Number("5")}},
	}
	tests := []struct {
		name        string
		path        string
		input       any
		want        any
		wantDefined bool
		wantErr     error
	}{
		{
			name:        "data document",
			path:        "verdict/grants/viewer",
			want:        []any{"read"},
			wantDefined: true,
		},
		{
			name:        "slashes around the path",
			path:        "/verdict/grants/viewer/",
			want:        []any{"read"},
			wantDefined: true,
		},
		{
			name:        "decision with input",
			path:        "verdict/authz/decision/allow",
			input:       editorDoc,
			want:        true,
			wantDefined: true,
		},
		{
			name:        "decision with an ast input",
			path:        "verdict/authz/decision/allow",
			input:       ast.MustInterfaceToValue(editorDoc),
			want:        true,
			wantDefined: true,
		},
		{
			name:        "default decision without input",
			path:        "verdict/authz/decision/allow",
			want:        false,
			wantDefined: true,
		},
		{
			name: "undefined document",
			path: "verdict/nothing/here",
		},
		{
			name:    "empty segment",
			path:    "verdict//grants",
			wantErr: ErrInvalidPath,
		},
		{
			name:    "input that is not JSON",
			path:    "verdict/grants",
			input:   map[string]any{"f": func() {}},
			wantErr: ErrInvalidInput,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, defined, err := s.Query(context.Background(), tt.path, tt.input)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("Query() error = %v, want %v", err, tt.wantErr)
			}
			if defined != tt.wantDefined || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Query() = %#v, %v; want %#v, %v", got, defined, tt.want, tt.wantDefined)
			}
		})
	}
}

func TestQueryWholeData(t *testing.T) {
	e := newEngine(t, config.Policy{})
	s := activate(t, e, loadEditor(t))
	got, defined, err := s.Query(context.Background(), "", nil)
	if err != nil || !defined {
		t.Fatalf("Query() = %v, %v", defined, err)
	}
	verdict, _ := got.(map[string]any)["verdict"].(map[string]any)
	if _, ok := verdict["grants"]; !ok {
		t.Errorf("whole data lacks verdict.grants: %v", got)
	}
	if _, ok := verdict["authz_test"]; !ok {
		t.Errorf("whole data lacks the test package: %v", got)
	}
}

func TestQueryCachesPreparedQueries(t *testing.T) {
	e := newEngine(t, config.Policy{})
	s := activate(t, e, loadEditor(t))
	for range 3 {
		for _, p := range []string{"verdict/grants", "/verdict/grants/", "verdict/authz/decision"} {
			if _, _, err := s.Query(context.Background(), p, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := s.queries.Len(); n != 2 {
		t.Errorf("cached queries = %d, want 2 (one per normalized path)", n)
	}
	for i := range queryCacheSize + 10 {
		_, _, _ = s.Query(context.Background(), "verdict/grants/"+string(rune('a'+i%26))+string(rune('a'+i/26)), nil)
	}
	if n := s.queries.Len(); n > queryCacheSize {
		t.Errorf("cached queries = %d, over the bound %d", n, queryCacheSize)
	}
}

// TestQueryCompileError: a path no document can have (into a boolean) is the caller's
// mistake, refused with ErrInvalidPath, and the refusal is cached like a prepared query so a
// repeated bad path is not compiled again.
func TestQueryCompileError(t *testing.T) {
	e := newEngine(t, config.Policy{})
	s := activate(t, e, loadEditor(t))
	const path = "verdict/authz/decision/allow/foo"
	for i := range 2 {
		_, defined, err := s.Query(context.Background(), "/"+path, nil)
		if !errors.Is(err, ErrInvalidPath) || errors.Is(err, ErrEvaluation) || defined {
			t.Fatalf("call %d: Query() = %v, %v; want ErrInvalidPath alone", i, defined, err)
		}
	}
	if entry, ok := s.queries.Peek(path); !ok || entry.err == nil {
		t.Errorf("cache entry for %s = %+v, %v; want the compile error", path, entry, ok)
	}
	if n := s.queries.Len(); n != 1 {
		t.Errorf("cached queries = %d, want 1", n)
	}
}

func TestQueryTimeout(t *testing.T) {
	e := newEngine(t, config.Policy{DecisionTimeout: 50 * time.Millisecond})
	s := activate(t, e, decisionBundle(t, "slow", `decision := true

slow := count([1 | some a in numbers.range(1, 500); some b in numbers.range(1, 500); some c in numbers.range(1, 500)])`))
	_, defined, err := s.Query(context.Background(), "verdict/authz/slow", nil)
	if !errors.Is(err, ErrTimeout) || defined {
		t.Fatalf("Query() = %v, %v; want ErrTimeout", defined, err)
	}
}

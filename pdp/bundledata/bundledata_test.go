package bundledata

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"testing/fstest"

	"github.com/verdict-pdp/verdict/pdp/bundle"
	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/engine"
)

// activate builds a snapshot from a bundle with a decision rule and the given data.json,
// with Check as the engine's activation check.
func activate(t *testing.T, data string) (*engine.Snapshot, error) {
	t.Helper()
	files := fstest.MapFS{"authz.rego": {Data: []byte("package verdict.authz\n\ndecision := false\n")}}
	if data != "" {
		files["data.json"] = &fstest.MapFile{Data: []byte(data)}
	}
	b, err := bundle.FromFS(files)
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(config.Policy{}, engine.Deps{Check: Check})
	if err != nil {
		t.Fatal(err)
	}
	return e.Activate(context.Background(), b)
}

// TestCheckDirectory: the directory is read at activation; bare ids are shorthand for
// {"id": ...}, and any other shape refuses the bundle.
func TestCheckDirectory(t *testing.T) {
	tests := []struct {
		name     string
		data     string
		subjects []Entry
		wantErr  error
	}{
		{name: "no directory"},
		{name: "objects", data: `{"verdict": {"search": {"subjects": {"user": [{"id": "alice", "properties": {"level": 3}}]}}}}`,
			subjects: []Entry{{ID: "alice", Properties: map[string]any{"level": json.Number("3")}}}},
		{name: "bare ids", data: `{"verdict": {"search": {"subjects": {"user": ["alice", "bob"]}}}}`,
			subjects: []Entry{{ID: "alice"}, {ID: "bob"}}},
		{name: "mixed", data: `{"verdict": {"search": {"subjects": {"user": ["alice", {"id": "bob"}]}}}}`,
			subjects: []Entry{{ID: "alice"}, {ID: "bob"}}},
		{name: "numbers as ids", data: `{"verdict": {"search": {"subjects": {"user": [1, 2]}}}}`, wantErr: ErrShape},
		{name: "list without types", data: `{"verdict": {"search": {"subjects": ["alice"]}}}`, wantErr: ErrShape},
		{name: "properties not an object", data: `{"verdict": {"search": {"resources": {"doc": [{"id": "d", "properties": [1]}]}}}}`, wantErr: ErrShape},
		{name: "actions not strings", data: `{"verdict": {"search": {"actions": [{"name": "read"}]}}}`, wantErr: ErrShape},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap, err := activate(t, tt.data)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Activate error = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			d, err := ReadDirectory(context.Background(), snap)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(d.Subjects["user"])
			want, _ := json.Marshal(tt.subjects)
			if string(got) != string(want) {
				t.Errorf("subjects %s, want %s", got, want)
			}
		})
	}
}

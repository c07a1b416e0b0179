package bundledata

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/verdict-pdp/verdict/pdp/engine"
)

// DirectoryPath is where a bundle keeps its entity directory.
const DirectoryPath = "verdict/search"

// Directory is data.verdict.search as the bundle ships it: the entities AuthZEN searches
// enumerate and whose properties enrich inputs.
//
//	{"subjects":  {"user": [{"id": "alice", "properties": {...}}, "bob"]},
//	 "resources": {"document": [{"id": "doc-1", "properties": {...}}]},
//	 "actions":   ["read", "update"]}
type Directory struct {
	Subjects  map[string][]Entry `json:"subjects"`
	Resources map[string][]Entry `json:"resources"`
	Actions   []string           `json:"actions"`
}

// Entry is one entity of a Directory. A bare string is shorthand for {"id": "..."}.
type Entry struct {
	ID         string         `json:"id"`
	Properties map[string]any `json:"properties"`
}

// UnmarshalJSON reads an entry as an object or, shorthand, as its id alone.
func (e *Entry) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte(`"`)) {
		*e = Entry{}
		return json.Unmarshal(b, &e.ID)
	}
	type entry Entry // without this method
	var v entry
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return err
	}
	*e = Entry(v)
	return nil
}

// ReadDirectory reads the entity directory of snap; without one it is empty.
func ReadDirectory(ctx context.Context, snap *engine.Snapshot) (*Directory, error) {
	var d Directory
	if err := Read(ctx, snap, DirectoryPath, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

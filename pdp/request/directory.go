package request

import (
	"cmp"
	"context"
	"maps"
	"slices"

	"github.com/verdict-pdp/verdict/pdp/bundledata"
	"github.com/verdict-pdp/verdict/pdp/engine"
)

// Directory is the bundle's entity directory: the candidates of AuthZEN searches, and the
// properties of the entities it names. Entries are sorted by id, actions by name, and
// duplicates dropped, so search pages are stable. It is read-only once built.
type Directory struct {
	subjects  map[string][]bundledata.Entry
	resources map[string][]bundledata.Entry
	actions   []string
}

// ReadDirectory reads the entity directory of snap's bundle (bundledata.ReadDirectory).
func ReadDirectory(ctx context.Context, snap *engine.Snapshot) (*Directory, error) {
	doc, err := bundledata.ReadDirectory(ctx, snap)
	if err != nil {
		return nil, err
	}
	d := &Directory{subjects: sortEntries(doc.Subjects), resources: sortEntries(doc.Resources)}
	d.actions = slices.Compact(slices.Sorted(slices.Values(doc.Actions)))
	d.actions = slices.DeleteFunc(d.actions, func(s string) bool { return s == "" })
	return d, nil
}

func sortEntries(byType map[string][]bundledata.Entry) map[string][]bundledata.Entry {
	out := make(map[string][]bundledata.Entry, len(byType))
	for typ, entries := range byType {
		entries = slices.DeleteFunc(slices.Clone(entries), func(e bundledata.Entry) bool { return e.ID == "" })
		slices.SortStableFunc(entries, func(a, b bundledata.Entry) int { return cmp.Compare(a.ID, b.ID) })
		out[typ] = slices.CompactFunc(entries, func(a, b bundledata.Entry) bool { return a.ID == b.ID })
	}
	return out
}

// lookup finds an entity. known is false when the directory lists entities of the type but
// not this id; a type the directory does not list is never "unknown", since the directory
// then has nothing to say about it.
func lookup(entries map[string][]bundledata.Entry, typ, id string) (props map[string]any, known bool) {
	list, ok := entries[typ]
	if !ok {
		return nil, true
	}
	i, found := slices.BinarySearchFunc(list, id, func(e bundledata.Entry, id string) int { return cmp.Compare(e.ID, id) })
	if !found {
		return nil, false
	}
	return list[i].Properties, true
}

// overlay returns the directory's properties with the request's laid over them: what the
// caller sends wins, the directory fills in the rest.
func overlay(base, over map[string]any) map[string]any {
	if len(base) == 0 {
		return over
	}
	out := maps.Clone(base)
	maps.Copy(out, over)
	return out
}

// Enrich fills in the properties of the input's subject and resource from the directory.
func (d *Directory) Enrich(in *engine.Input) {
	d.enrichSubject(in)
	d.EnrichResource(in)
}

func (d *Directory) enrichSubject(in *engine.Input) {
	props, _ := lookup(d.subjects, in.Subject.Type, in.Subject.ID)
	in.Subject.Properties = overlay(props, in.Subject.Properties)
}

// EnrichResource fills in the properties of the input's resource from the directory, as
// forward auth does, whose subject comes from a verified token.
func (d *Directory) EnrichResource(in *engine.Input) {
	props, _ := lookup(d.resources, in.Resource.Type, in.Resource.ID)
	in.Resource.Properties = overlay(props, in.Resource.Properties)
}

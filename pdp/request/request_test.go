package request

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/verdict-pdp/verdict/pdp/bundle"
	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/engine"
)

// testDirectory is an entity directory: two users, one of them with properties, records and
// three actions (one repeated, one empty, which the directory drops).
const testDirectory = `{"verdict": {"search": {
	"subjects": {"user": [{"id": "carol", "properties": {"role": "admin"}}, "alice", "bob"]},
	"resources": {"record": [{"id": "record-2", "properties": {"status": "archived"}}, "record-1"]},
	"actions": ["write", "read", "read", ""]}}}`

// snapshot activates a bundle whose data is testDirectory.
func snapshot(t *testing.T) *engine.Snapshot {
	t.Helper()
	b, err := bundle.FromFS(fstest.MapFS{
		"authz.rego": {Data: []byte("package verdict.authz\n\ndecision := false\n")},
		"data.json":  {Data: []byte(testDirectory)},
	})
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(config.Policy{}, engine.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := e.Activate(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// wantInvalid fails t unless err is an *Error whose message holds want.
func wantInvalid(t *testing.T, err error, want string) {
	t.Helper()
	var reqErr *Error
	if !errors.As(err, &reqErr) || !strings.Contains(err.Error(), want) {
		t.Fatalf("error = %v (%T), want an *Error with %q", err, err, want)
	}
}

func TestDecodeRequest(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    engine.Action
		wantErr string
	}{
		{name: "action shorthand", body: `{"action":"read","resource":{"type":"record","id":"r1"}}`,
			want: engine.Action{Name: "read"}},
		{name: "action object", body: `{"action":{"name":"read","properties":{"m":"GET"}},"resource":{"type":"record","id":"r1"}}`,
			want: engine.Action{Name: "read", Properties: map[string]any{"m": "GET"}}},
		{name: "action of the wrong type", body: `{"action":7,"resource":{"type":"record","id":"r1"}}`,
			wantErr: "action must be a JSON object with a string name, or a string"},
		{name: "action name required", body: `{"action":{},"resource":{"type":"record","id":"r1"}}`, wantErr: "action.name is required"},
		{name: "resource required", body: `{"action":"read"}`, wantErr: "resource is required"},
		{name: "resource id required", body: `{"action":"read","resource":{"type":"record"}}`, wantErr: "resource.id is required"},
		{name: "repeated member", body: `{"action":"read","action":"write","resource":{"type":"record","id":"r1"}}`,
			wantErr: `duplicate member "action"`},
		{name: "data after the document", body: `{"action":"read"} {}`, wantErr: "more than one JSON document"},
		{name: "malformed", body: `{"action":`, wantErr: "malformed JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := DecodeRequest([]byte(tt.body))
			if tt.wantErr != "" {
				wantInvalid(t, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(in.Action, tt.want) || in.Resource.ID != "r1" || in.Subject.ID != "" {
				t.Errorf("input %+v, want action %+v on r1 and no subject", in, tt.want)
			}
		})
	}
}

// TestDecodeEvaluation: verdict eval reads an AuthZEN body into the input the server builds,
// the entity directory merged in, and refuses what the endpoint refuses.
func TestDecodeEvaluation(t *testing.T) {
	snap := snapshot(t)
	tests := []struct {
		name    string
		body    string
		want    map[string]any // subject properties
		wantRes map[string]any // resource properties
		wantErr string
	}{
		{name: "directory properties merged in",
			body: `{"subject":{"type":"user","id":"carol"},"action":{"name":"read"},"resource":{"type":"record","id":"record-2"}}`,
			want: map[string]any{"role": "admin"}, wantRes: map[string]any{"status": "archived"}},
		{name: "the request's properties win",
			body: `{"subject":{"type":"user","id":"carol","properties":{"role":"viewer"}},"action":{"name":"read"},` +
				`"resource":{"type":"record","id":"record-9"}}`,
			want: map[string]any{"role": "viewer"}},
		{name: "action name required", body: `{"subject":{"type":"user","id":"carol"},"action":{},"resource":{"type":"record","id":"r"}}`,
			wantErr: "action.name is required"},
		{name: "subject id required", body: `{"subject":{"type":"user"},"action":{"name":"read"},"resource":{"type":"record","id":"r"}}`,
			wantErr: "subject.id is required"},
		{name: "properties must be an object", body: `{"subject":{"type":"user","id":"a","properties":[]}}`,
			wantErr: "subject.properties must be a JSON object"},
		{name: "duplicate member", body: `{"subject":{"type":"user","id":"a","id":"b"}}`, wantErr: `duplicate member "id"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := DecodeEvaluation(context.Background(), snap, []byte(tt.body))
			if tt.wantErr != "" {
				wantInvalid(t, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("DecodeEvaluation() error = %v", err)
			}
			if !reflect.DeepEqual(in.Subject.Properties, tt.want) || !reflect.DeepEqual(in.Resource.Properties, tt.wantRes) {
				t.Errorf("subject %v, resource %v; want %v, %v", in.Subject.Properties, in.Resource.Properties, tt.want, tt.wantRes)
			}
		})
	}
}

// TestTupleOver: an item's member replaces the default as a whole, except for the required
// identifiers it leaves out.
func TestTupleOver(t *testing.T) {
	defaults := `{"subject":{"type":"user","id":"alice","properties":{"role":"admin"}},"action":{"name":"read"},` +
		`"resource":{"type":"record","id":"r1"},"context":{"ip":"203.0.113.7"}}`
	tests := []struct {
		name    string
		item    string
		want    string // subject.id action.name resource.id
		props   map[string]any
		context map[string]any
	}{
		{name: "empty item takes every default", item: `{}`, want: "alice read r1",
			props: map[string]any{"role": "admin"}, context: map[string]any{"ip": "203.0.113.7"}},
		{name: "properties are not mixed", item: `{"subject":{"properties":{"tenant":"acme"}},"context":{}}`, want: "alice read r1",
			props: map[string]any{"tenant": "acme"}, context: map[string]any{}},
		{name: "identifiers replaced", item: `{"subject":{"id":"bob"},"action":{"name":"write"},"resource":{"id":"r2"}}`,
			want: "bob write r2", context: map[string]any{"ip": "203.0.113.7"}},
	}
	wire, err := DecodeAuthZEN([]byte(defaults))
	if err != nil {
		t.Fatal(err)
	}
	def, err := wire.Tuple()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			item, err := ParseItem([]byte(tt.item))
			if err != nil {
				t.Fatal(err)
			}
			in, err := item.Over(def).input(needAll)
			if err != nil {
				t.Fatal(err)
			}
			got := in.Subject.ID + " " + in.Action.Name + " " + in.Resource.ID
			if got != tt.want || !reflect.DeepEqual(in.Subject.Properties, tt.props) || !reflect.DeepEqual(in.Context, tt.context) {
				t.Errorf("got %q %v %v, want %q %v %v", got, in.Subject.Properties, in.Context, tt.want, tt.props, tt.context)
			}
		})
	}
}

// TestSearchPages pages a subject search two at a time: candidates come sorted from the
// directory, a full page carries a token for the next, the token resumes after the last
// candidate and is refused by a different search, and a failed evaluation fails the page.
func TestSearchPages(t *testing.T) {
	dir, err := ReadDirectory(context.Background(), snapshot(t))
	if err != nil {
		t.Fatal(err)
	}
	body := func(page string) *AuthZEN {
		w, err := DecodeAuthZEN([]byte(`{"subject":{"type":"user"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"},` +
			`"page":{"limit":2` + page + `}}`))
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	allowAll := func(from, n int) ([]bool, error) {
		out := make([]bool, n)
		for i := range out {
			out[i] = true
		}
		return out, nil
	}
	var pages [][]any
	token := ""
	for range 3 {
		q, err := NewSearch(SearchSubject, body(token), 10)
		if err != nil {
			t.Fatal(err)
		}
		q.List(dir)
		res, err := q.Run(10, 1, allowAll)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, res.Results)
		if res.Page.NextToken == "" {
			break
		}
		token = `,"token":"` + res.Page.NextToken + `"`
	}
	want := [][]any{{EntityRef{"user", "alice"}, EntityRef{"user", "bob"}}, {EntityRef{"user", "carol"}}}
	if !reflect.DeepEqual(pages, want) {
		t.Errorf("pages %v, want %v", pages, want)
	}
	_, err = NewSearch(SearchSubject, body(`,"token":"`+sealPageToken("alice", "other")+`"`), 10)
	wantInvalid(t, err, "page.token belongs to a different search")

	// A failed evaluation fails the whole search rather than leaving a candidate out.
	q, err := NewSearch(SearchSubject, body(""), 10)
	if err != nil {
		t.Fatal(err)
	}
	q.List(dir)
	failed := errors.New("evaluation failed")
	if _, err := q.Run(10, 1, func(int, int) ([]bool, error) { return nil, failed }); !errors.Is(err, failed) {
		t.Errorf("Run() error = %v, want %v", err, failed)
	}
}

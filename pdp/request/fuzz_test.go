package request

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
	"unicode/utf8"
)

// goldenBodies returns the bodies of the golden AuthZEN cases, shared with pdp/httpapi and the
// end-to-end tests, as fuzz seeds.
func goldenBodies(tb testing.TB) [][]byte {
	tb.Helper()
	data, err := os.ReadFile("../../tests/testdata/authzen_cases.json")
	if err != nil {
		tb.Fatal(err)
	}
	var file struct {
		Cases []struct{ Body json.RawMessage }
	}
	if err := json.Unmarshal(data, &file); err != nil {
		tb.Fatal(err)
	}
	bodies := make([][]byte, len(file.Cases))
	for i, tc := range file.Cases {
		bodies[i] = tc.Body
	}
	return bodies
}

// FuzzAuthZENRequest feeds request bodies, seeded from the golden cases, through the AuthZEN
// decoding, merging and validation. Whatever the body, nothing panics, and a request that
// validates names every identifier it needs.
func FuzzAuthZENRequest(f *testing.F) {
	for _, body := range goldenBodies(f) {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var wire AuthZEN
		if decodeRaw(body, &wire) != nil {
			return
		}
		defaults, err := wire.Tuple()
		if err != nil {
			return
		}
		items, err := wire.Items()
		if err != nil {
			return
		}
		checkInput(t, defaults, needAll)
		for _, raw := range items {
			if item, err := ParseItem(raw); err == nil {
				checkInput(t, item.Over(defaults), needAll)
			}
		}
		for _, needs := range []azNeeds{needSubjects, needResource, needActions} {
			checkInput(t, defaults, needs)
		}
		_, _ = parsePage(wire.Page, "fingerprint", 10)
	})
}

// FuzzDecodeDocument feeds arbitrary bodies, seeded from the golden AuthZEN cases and a few
// ambiguous ones, through the strict decoding of every request body: nothing panics (the
// strict check runs only on what the JSON decoder accepted), and an accepted body is one valid
// UTF-8 JSON document.
func FuzzDecodeDocument(f *testing.F) {
	for _, body := range goldenBodies(f) {
		f.Add(body)
	}
	for _, s := range []string{`{"subject":{},"Subject":{}}`, `{"a":1}}`, `{"a":1}]`, `{"context":{"x":"\ud800"}}`, "{\"\xff\":1}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var wire AuthZEN
		if DecodeDocument(body, azShape, &wire) != nil {
			return
		}
		if !utf8.Valid(body) || !json.Valid(bytes.TrimSpace(body)) {
			t.Fatalf("accepted %q", body)
		}
	})
}

func checkInput(t *testing.T, tuple Tuple, needs azNeeds) {
	in, err := tuple.input(needs)
	if err != nil {
		return
	}
	if in.Subject.Type == "" || in.Resource.Type == "" ||
		(needs.subjectID && in.Subject.ID == "") || (needs.resourceID && in.Resource.ID == "") ||
		(needs.action && in.Action.Name == "") {
		t.Fatalf("input %+v passed validation for %+v", in, needs)
	}
}

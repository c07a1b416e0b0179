package httpapi

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzAuthZENRequest feeds request bodies, seeded from the golden cases, through the AuthZEN
// decoding, merging and validation. Whatever the body, nothing panics, and a request that
// validates names every identifier it needs.
func FuzzAuthZENRequest(f *testing.F) {
	for _, tc := range goldenCases(f) {
		f.Add([]byte(tc.Body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var wire azWire
		if decodeRaw(body, &wire) != nil {
			return
		}
		defaults, err := wire.tuple()
		if err != nil {
			return
		}
		items, err := wire.items()
		if err != nil {
			return
		}
		checkInput(t, defaults, needAll)
		for _, raw := range items {
			if item, err := parseItem(raw); err == nil {
				checkInput(t, item.over(defaults), needAll)
			}
		}
		for _, needs := range []azNeeds{needSubjects, needResource, needActions} {
			checkInput(t, defaults, needs)
		}
		_, _ = parseSemantic(wire.Options)
		_, _ = parsePage(wire.Page, "fingerprint", 10)
	})
}

// FuzzDecodeDocument feeds arbitrary bodies, seeded from the golden AuthZEN cases and a few
// ambiguous ones, through the strict decoding of every request body: nothing panics (the
// strict check runs only on what the JSON decoder accepted), and an accepted body is one valid
// UTF-8 JSON document.
func FuzzDecodeDocument(f *testing.F) {
	for _, tc := range goldenCases(f) {
		f.Add([]byte(tc.Body))
	}
	for _, s := range []string{`{"subject":{},"Subject":{}}`, `{"a":1}}`, `{"a":1}]`, `{"context":{"x":"\ud800"}}`, "{\"\xff\":1}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var wire azWire
		if decodeDocument(body, azShape, &wire) != nil {
			return
		}
		if !utf8.Valid(body) || !json.Valid(bytes.TrimSpace(body)) {
			t.Fatalf("accepted %q", body)
		}
	})
}

func checkInput(t *testing.T, tuple azTuple, needs azNeeds) {
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

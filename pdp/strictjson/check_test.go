package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestCheckDuplicates(t *testing.T) {
	tests := []struct {
		name string
		json string
		dup  bool
	}{
		{name: "flat", json: `{"a":1,"b":2}`},
		{name: "same names in sibling objects", json: `{"a":{"x":1},"b":{"x":2},"c":[{"x":1},{"x":2}]}`},
		{name: "names inside string values", json: `{"a":"\"a\":","b":"{\"a\":1,\"a\":2}"}`},
		{name: "escaped backslash before a quote", json: `{"a\\":1,"a":2}`},
		{name: "empty containers", json: `{"a":{},"b":[],"c":[[],{}]}`},
		{name: "scalar document", json: `"a"`},
		{name: "top-level duplicate", json: `{"a":1,"a":2}`, dup: true},
		{name: "duplicate after a nested object", json: `{"a":{"b":1},"a":2}`, dup: true},
		{name: "nested duplicate", json: `{"a":{"b":1,"b":1}}`, dup: true},
		{name: "duplicate in an object in an array", json: `{"a":[1,{"b":1,"c":[],"b":2}]}`, dup: true},
		{name: "duplicate through an escape", json: `{"exp":1,"\u0065xp":2}`, dup: true},
		{name: "empty names", json: `{"":1,"":2}`, dup: true},
		{name: "duplicate in a large object", json: largeObject(40, "m7"), dup: true},
		{name: "large object without duplicates", json: largeObject(40, "")},
		{name: "names of closed siblings are forgotten", json: `{"a":{"b":1},"b":{"a":1},"c":[{"b":1}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !json.Valid([]byte(tc.json)) {
				t.Fatalf("test JSON is invalid")
			}
			err := Check([]byte(tc.json), nil)
			if got := errors.Is(err, ErrDuplicateMember); got != tc.dup || (err != nil && !got) {
				t.Fatalf("err = %v, want duplicate %v", err, tc.dup)
			}
		})
	}
}

// largeObject is an object of n members m0..m(n-1), and then extra if it is not empty.
func largeObject(n int, extra string) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		fmt.Fprintf(&b, `"m%d":%d,`, i, i)
	}
	if extra != "" {
		fmt.Fprintf(&b, `%q:0,`, extra)
	}
	return strings.TrimSuffix(b.String(), ",") + "}"
}

func TestCheckShape(t *testing.T) {
	entity := Shape{"type": nil, "id": nil, "properties": nil}
	shape := Shape{"subject": entity, "evaluations": {"subject": entity}, "context": nil}
	tests := []struct {
		name string
		json string
		want string // "" for no error
	}{
		{name: "exact names", json: `{"subject":{"type":"user","id":"a","properties":{"x":1}},"context":{"y":2}}`},
		{name: "unknown members are allowed", json: `{"subject":{"type":"user","rank":1},"extra":{"Subject":1}}`},
		{name: "case variants in free-form members are allowed", json: `{"subject":{"properties":{"Type":1,"type":2}},"context":{"Subject":1,"subject":2}}`},
		{name: "top-level case variant", json: `{"Subject":{"type":"user"}}`, want: `member "Subject" must be written "subject"`},
		{name: "case variant beside the exact name", json: `{"subject":{},"SUBJECT":{}}`, want: `member "SUBJECT" must be written "subject"`},
		{name: "nested case variant", json: `{"subject":{"type":"user","ID":"a"}}`, want: `member "ID" must be written "id"`},
		{name: "case variant through Unicode folding", json: `{"ſubject":{}}`, want: `member "ſubject" must be written "subject"`},
		{name: "case variant through an escape", json: `{"\u0053ubject":{}}`, want: `member "Subject" must be written "subject"`},
		{name: "case variant in an array element", json: `{"evaluations":[{"subject":{}},{"subject":{"Type":"x"}}]}`, want: `member "Type" must be written "type"`},
		{name: "duplicate inside a free-form member", json: `{"context":{"a":{"b":1,"b":2}}}`, want: `duplicate member "b"`},
		{name: "duplicate in an array element", json: `{"evaluations":[{"subject":{"id":"a","id":"b"}}]}`, want: `duplicate member "id"`},
		{name: "invalid UTF-8 in a value", json: "{\"subject\":{\"id\":\"al\xffce\"}}", want: "invalid UTF-8 at byte 20"},
		{name: "invalid UTF-8 in a name", json: "{\"subject\xc3\":{}}", want: "invalid UTF-8 at byte 9"},
		{name: "unpaired high surrogate", json: `{"subject":{"id":"\ud800x"}}`, want: "invalid UTF-8: unpaired surrogate escape at byte 18"},
		{name: "unpaired low surrogate", json: `{"\udc00":1}`, want: "invalid UTF-8: unpaired surrogate escape at byte 2"},
		{name: "high surrogate before a non-surrogate escape", json: `["\ud800\u0041"]`, want: "invalid UTF-8: unpaired surrogate escape at byte 2"},
		{name: "surrogate pair", json: `{"subject":{"id":"\ud83d\ude00"}}`},
		{name: "escaped backslash before u", json: `{"subject":{"id":"\\ud800"}}`},
		{name: "long names are cut in messages", json: `{"` + strings.Repeat("n", 50) + `":1,"` + strings.Repeat("n", 50) + `":2}`, want: `duplicate member "` + strings.Repeat("n", 40) + `"...`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Check([]byte(tc.json), shape)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("err = %v, want none", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %s", err, tc.want)
			}
		})
	}
}

// FuzzCheck compares the scanner with json.Decoder on valid JSON: it must never panic, and it
// must find a duplicate exactly when a full decode would.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{`{"a":1,"a":2}`, `{"a":{"b":[{"c":1}]}}`, `{"a\\":"\"","a":1}`, `[{"x":1},{"x":1}]`, `{"\ud83d\ude00":"\ud800"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !json.Valid([]byte(s)) {
			return
		}
		err := Check([]byte(s), nil)
		if errors.Is(err, ErrInvalidUTF8) {
			return
		}
		if err != nil && !errors.Is(err, ErrDuplicateMember) {
			t.Fatalf("error on valid JSON: %v", err)
		}
		if want := hasDuplicate(t, s); (err != nil) != want {
			t.Fatalf("scanner says %v, decoder says duplicate=%v for %s", err, want, s)
		}
	})
}

// hasDuplicate is the slow reference: a full token walk with json.Decoder.
func hasDuplicate(t *testing.T, s string) bool {
	var walk func(raw json.RawMessage) bool
	walk = func(raw json.RawMessage) bool {
		var obj []json.RawMessage
		if json.Unmarshal(raw, &obj) == nil {
			for _, e := range obj {
				if walk(e) {
					return true
				}
			}
			return false
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		tok, err := dec.Token()
		if err != nil || tok != json.Delim('{') {
			return false
		}
		seen := map[string]bool{}
		for dec.More() {
			k, _ := dec.Token()
			name := k.(string)
			if seen[name] {
				return true
			}
			seen[name] = true
			var val json.RawMessage
			if err := dec.Decode(&val); err != nil {
				t.Fatal(err)
			}
			if walk(val) {
				return true
			}
		}
		return false
	}
	return walk(json.RawMessage(s))
}

func BenchmarkCheck(b *testing.B) {
	doc := []byte(`{"subject":{"type":"user","id":"alice@acme.example","properties":{"roles":["editor","viewer"],"tenant":"acme"}},` +
		`"action":{"name":"read"},"resource":{"type":"document","id":"doc-42","properties":{"tenant":"acme","owner":"bob","tags":["q3"]}},` +
		`"context":{"time":"2026-11-22T10:00:00Z","ip":"203.0.113.7","device":{"managed":true}}}`)
	entity := Shape{"type": nil, "id": nil, "properties": nil}
	shape := Shape{"subject": entity, "action": {"name": nil, "properties": nil}, "resource": entity, "context": nil}
	b.ReportAllocs()
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if err := Check(doc, shape); err != nil {
			b.Fatal(err)
		}
	}
}

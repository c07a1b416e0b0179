package token

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

func TestCheckUniqueMembers(t *testing.T) {
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
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !json.Valid([]byte(tc.json)) {
				t.Fatalf("test JSON is invalid")
			}
			err := checkUniqueMembers([]byte(tc.json))
			if got := errors.Is(err, errDuplicateMember); got != tc.dup || (err != nil && !got) {
				t.Fatalf("err = %v, want duplicate %v", err, tc.dup)
			}
		})
	}
}

// FuzzCheckUniqueMembers compares the scanner with json.Decoder on valid JSON: it must never
// panic, and it must find a duplicate exactly when a full decode would.
func FuzzCheckUniqueMembers(f *testing.F) {
	for _, s := range []string{`{"a":1,"a":2}`, `{"a":{"b":[{"c":1}]}}`, `{"a\\":"\"","a":1}`, `[{"x":1},{"x":1}]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !json.Valid([]byte(s)) {
			return
		}
		err := checkUniqueMembers([]byte(s))
		if err != nil && !errors.Is(err, errDuplicateMember) {
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

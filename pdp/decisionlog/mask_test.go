package decisionlog

import (
	"encoding/json"
	"testing"
)

// TestMaskRules follows OPA's data.system.log.mask semantics (v1/plugins/logs/mask.go).
func TestMaskRules(t *testing.T) {
	const event = `{"input":{"subject":{"id":"alice","properties":{"ssn":"1","roles":["a","b"]}},"list":[1,2,3]},"result":{"allow":true}}`
	tests := []struct {
		name   string
		rules  string
		want   string
		erased string
		masked string
	}{
		{name: "remove a member", rules: `["/input/subject/properties/ssn"]`,
			want:   `{"input":{"list":[1,2,3],"subject":{"id":"alice","properties":{"roles":["a","b"]}}},"result":{"allow":true}}`,
			erased: `["/input/subject/properties/ssn"]`},
		{name: "remove an array element", rules: `["/input/subject/properties/roles/0"]`,
			want:   `{"input":{"list":[1,2,3],"subject":{"id":"alice","properties":{"roles":["b"],"ssn":"1"}}},"result":{"allow":true}}`,
			erased: `["/input/subject/properties/roles/0"]`},
		{name: "remove something missing does nothing", rules: `["/input/nope/x", "/input/list/7"]`,
			want: `{"input":{"list":[1,2,3],"subject":{"id":"alice","properties":{"roles":["a","b"],"ssn":"1"}}},"result":{"allow":true}}`},
		{name: "remove the whole input", rules: `[{"op":"remove","path":"/input"}]`,
			want: `{"result":{"allow":true}}`, erased: `["/input"]`},
		{name: "upsert creates the objects on the way", rules: `[{"op":"upsert","path":"/input/subject/properties/ssn","value":"***"},{"op":"upsert","path":"/input/a/b","value":1}]`,
			want:   `{"input":{"a":{"b":1},"list":[1,2,3],"subject":{"id":"alice","properties":{"roles":["a","b"],"ssn":"***"}}},"result":{"allow":true}}`,
			masked: `["/input/subject/properties/ssn","/input/a/b"]`},
		{name: "upsert the whole result", rules: `[{"op":"upsert","path":"/result","value":{"allow":false}}]`,
			want:   `{"input":{"list":[1,2,3],"subject":{"id":"alice","properties":{"roles":["a","b"],"ssn":"1"}}},"result":{"allow":false}}`,
			masked: `["/result"]`},
		{name: "upsert past an array's end is skipped", rules: `[{"op":"upsert","path":"/input/list/9","value":0}]`,
			want: `{"input":{"list":[1,2,3],"subject":{"id":"alice","properties":{"roles":["a","b"],"ssn":"1"}}},"result":{"allow":true}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e map[string]any
			if err := decodeNumbers([]byte(event), &e); err != nil {
				t.Fatal(err)
			}
			var raw any
			if err := json.Unmarshal([]byte(tt.rules), &raw); err != nil {
				t.Fatal(err)
			}
			rules, err := parseMaskRules(raw)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rules {
				r.apply(e)
			}
			erased, masked := e["erased"], e["masked"]
			delete(e, "erased")
			delete(e, "masked")
			if got := jsonOf(t, e); got != tt.want {
				t.Errorf("event = %s\nwant    %s", got, tt.want)
			}
			if got := jsonOf(t, erased); tt.erased != "" && got != tt.erased || tt.erased == "" && erased != nil {
				t.Errorf("erased = %s, want %s", got, tt.erased)
			}
			if got := jsonOf(t, masked); tt.masked != "" && got != tt.masked || tt.masked == "" && masked != nil {
				t.Errorf("masked = %s, want %s", got, tt.masked)
			}
		})
	}
}

func TestParseMaskRulesRefuses(t *testing.T) {
	tests := []struct {
		name  string
		rules any
	}{
		{name: "not a set", rules: "/input/x"},
		{name: "no slash", rules: []any{"input/x"}},
		{name: "outside input and result", rules: []any{"/labels/id"}},
		{name: "unknown op", rules: []any{map[string]any{"op": "replace", "path": "/input/x"}}},
		{name: "not a pointer or object", rules: []any{1.0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseMaskRules(tt.rules); err == nil {
				t.Error("accepted")
			}
		})
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

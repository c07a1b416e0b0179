package forwardauth

import (
	"maps"
	"strings"
	"testing"
)

func TestMatchRoute(t *testing.T) {
	rules := []routeRule{}
	for _, d := range []routeDoc{
		{Methods: []string{"get"}, Path: "/documents/{id}", Action: "read", ResourceType: "document"},
		{Methods: []string{"POST"}, Path: "/documents/{id}/share", Action: "share", ResourceType: "document"},
		{Methods: []string{"GET"}, Path: "/projects/{project}/documents/{id}", Action: "read", ResourceType: "document"},
		{Methods: []string{"GET"}, Path: "/", Action: "list", ResourceType: "home"},
	} {
		r, err := compileRoute(d)
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, r)
	}
	tests := []struct {
		name   string
		method string
		path   string
		action string
		params map[string]string
	}{
		{name: "placeholder", method: "GET", path: "/documents/doc-1", action: "read", params: map[string]string{"id": "doc-1"}},
		{name: "trailing slash", method: "GET", path: "/documents/doc-1/", action: "read", params: map[string]string{"id": "doc-1"}},
		{name: "literal segment", method: "POST", path: "/documents/doc-1/share", action: "share", params: map[string]string{"id": "doc-1"}},
		{name: "two placeholders", method: "GET", path: "/projects/p1/documents/d1", action: "read",
			params: map[string]string{"project": "p1", "id": "d1"}},
		{name: "root", method: "GET", path: "/", action: "list", params: map[string]string{}},
		{name: "wrong method", method: "DELETE", path: "/documents/doc-1"},
		{name: "too many segments", method: "GET", path: "/documents/doc-1/extra"},
		{name: "empty placeholder", method: "GET", path: "/documents//"},
		{name: "empty placeholder before a literal", method: "POST", path: "/documents//share"},
		{name: "empty segments are not collapsed", method: "GET", path: "/documents//doc-1"},
		{name: "two trailing slashes", method: "GET", path: "/documents/doc-1//"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			segs, err := splitOriginal(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			m := (&Routes{rules: rules}).match(tt.method, segs)
			if tt.action == "" {
				if m != nil {
					t.Fatalf("matched %s", m.rule.template)
				}
				return
			}
			if m == nil || m.rule.action != tt.action || !maps.Equal(m.params, tt.params) {
				t.Fatalf("match %+v, want %s %v", m, tt.action, tt.params)
			}
		})
	}
	for _, bad := range []routeDoc{
		{Methods: []string{"GET"}, Path: "documents", Action: "read", ResourceType: "document"},
		{Methods: []string{"GET"}, Path: "/documents", ResourceType: "document"},
		{Path: "/documents", Action: "read", ResourceType: "document"},
	} {
		if _, err := compileRoute(bad); err == nil {
			t.Errorf("route %+v compiled", bad)
		}
	}
}

func TestStepUpFrom(t *testing.T) {
	tests := []struct {
		name        string
		obligations []map[string]any
		want        string
	}{
		{name: "none"},
		{name: "other obligation", obligations: []map[string]any{{"type": "log"}}},
		{name: "string acr and number max_age",
			obligations: []map[string]any{{"type": "step_up", "acr_values": "urn:a urn:b", "max_age": 60}},
			want:        `acr_values="urn:a urn:b", max_age="60"`},
		{name: "quotes are escaped",
			obligations: []map[string]any{{"type": "step_up", "acr_values": []any{`urn:"x"`}}},
			want:        `acr_values="urn:\"x\""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := stepUpFrom(tt.obligations)
			if tt.want == "" {
				if e != nil {
					t.Fatalf("got %v", e.Challenge())
				}
				return
			}
			if e == nil || !strings.HasSuffix(e.Challenge(), tt.want) {
				t.Fatalf("challenge %v, want suffix %s", e, tt.want)
			}
		})
	}
}

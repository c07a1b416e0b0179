package forwardauth

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/verdict-pdp/verdict/pdp/bundledata"
	"github.com/verdict-pdp/verdict/pdp/engine"
)

// routeDoc is one entry of data.verdict.routes:
//
//	{"methods": ["GET", "HEAD"], "path": "/documents/{id}", "action": "read", "resource_type": "document"}
type routeDoc struct {
	Methods      []string `json:"methods"`
	Path         string   `json:"path"`
	Action       string   `json:"action"`
	ResourceType string   `json:"resource_type"`
}

// routeRule is a compiled route: path segments where "{name}" matches any one non-empty
// segment. The "{id}" placeholder becomes resource.id.
type routeRule struct {
	template     string
	methods      map[string]bool
	segments     []string
	action       string
	resourceType string
}

// routeMatch is a request mapped to an action and resource.
type routeMatch struct {
	rule   *routeRule
	params map[string]string
}

// RoutesPath is where forward auth finds its route table in a bundle's data (docs/api.md
// describes the shape). It is optional: without routes forward auth denies everything.
const RoutesPath = "verdict/routes"

// Routes is a compiled route table, read-only once built.
type Routes struct{ rules []routeRule }

// ReadRoutes reads and compiles the route table of snap. A table of the wrong shape is an
// error wrapping bundledata.ErrShape; a snapshot without one has no routes.
func ReadRoutes(ctx context.Context, snap *engine.Snapshot) (*Routes, error) {
	var docs []routeDoc
	if err := bundledata.Read(ctx, snap, RoutesPath, &docs); err != nil {
		return nil, err
	}
	rules := make([]routeRule, 0, len(docs))
	for i, d := range docs {
		rule, err := compileRoute(d)
		if err != nil {
			return nil, fmt.Errorf("%w: data.verdict.routes[%d]: %w", bundledata.ErrShape, i, err)
		}
		rules = append(rules, rule)
	}
	return &Routes{rules: rules}, nil
}

func compileRoute(d routeDoc) (routeRule, error) {
	switch {
	case !strings.HasPrefix(d.Path, "/"):
		return routeRule{}, fmt.Errorf("path %q must start with /", d.Path)
	case d.Action == "" || d.ResourceType == "":
		return routeRule{}, fmt.Errorf("route %s needs an action and a resource_type", d.Path)
	case len(d.Methods) == 0:
		return routeRule{}, fmt.Errorf("route %s lists no methods", d.Path)
	}
	r := routeRule{template: d.Path, methods: map[string]bool{}, segments: splitPath(d.Path),
		action: d.Action, resourceType: d.ResourceType}
	for _, m := range d.Methods {
		r.methods[strings.ToUpper(m)] = true
	}
	return r, nil
}

// splitPath cleans a route template and splits it into segments; "/" has none. Templates come
// from the bundle; request paths go through splitOriginal instead, which cleans nothing.
func splitPath(p string) []string {
	p = strings.Trim(path.Clean("/"+p), "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// match returns the first rule matching method and the path's decoded segments (from
// splitOriginal); a trailing slash, one empty last segment, is ignored. No match is nil:
// forward auth then denies.
func (rt *Routes) match(method string, segs []string) *routeMatch {
	rules := rt.rules
	if n := len(segs); n > 0 && segs[n-1] == "" {
		segs = segs[:n-1]
	}
	for i := range rules {
		r := &rules[i]
		if !r.methods[method] || len(r.segments) != len(segs) {
			continue
		}
		if params, ok := r.match(segs); ok {
			return &routeMatch{rule: r, params: params}
		}
	}
	return nil
}

func (r *routeRule) match(segs []string) (map[string]string, bool) {
	params := map[string]string{}
	for i, want := range r.segments {
		if name, ok := placeholder(want); ok {
			// An empty segment (from "//") fills no placeholder: it would make an empty id.
			if segs[i] == "" {
				return nil, false
			}
			params[name] = segs[i]
			continue
		}
		if want != segs[i] {
			return nil, false
		}
	}
	return params, true
}

func placeholder(seg string) (string, bool) {
	if len(seg) > 2 && strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
		return seg[1 : len(seg)-1], true
	}
	return "", false
}

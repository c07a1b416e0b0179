package request

import (
	"testing"

	"github.com/verdict-pdp/verdict/pdp/engine"
	"github.com/verdict-pdp/verdict/pdp/strictjson"
)

// TestShapesNameEveryMember keeps the strictjson shapes in step with the types the bodies
// decode into: a member a type reads but its shape lacks would escape the case rule.
func TestShapesNameEveryMember(t *testing.T) {
	tests := []struct {
		name  string
		typ   any
		shape strictjson.Shape
	}{
		{name: "native", typ: authorizeRequest{}, shape: authorizeShape},
		{name: "native resource", typ: engine.Resource{}, shape: entityShape},
		{name: "native action", typ: engine.Action{}, shape: actionShape},
		{name: "authzen", typ: AuthZEN{}, shape: azShape},
		{name: "authzen entity", typ: azEntity{}, shape: entityShape},
		{name: "authzen action", typ: azAction{}, shape: actionShape},
		{name: "authzen page", typ: pageWire{}, shape: azShape["page"]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if missing := tc.shape.Lacks(tc.typ); len(missing) > 0 {
				t.Errorf("the shape lacks %q", missing)
			}
		})
	}
}

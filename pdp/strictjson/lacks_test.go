package strictjson

import (
	"reflect"
	"testing"
)

func TestShapeLacks(t *testing.T) {
	type body struct {
		Subject any `json:"subject"`
		Action  any `json:"action,omitempty"`
		Extra   any
	}
	tests := []struct {
		name  string
		shape Shape
		want  []string
	}{
		{name: "every member named", shape: Shape{"subject": nil, "action": nil, "extra": nil}},
		{name: "tag and field names", shape: Shape{"subject": nil}, want: []string{"action", "extra"}},
		{name: "case matters", shape: Shape{"Subject": nil, "action": nil, "extra": nil}, want: []string{"subject"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.shape.Lacks(body{}); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Lacks() = %q, want %q", got, tt.want)
			}
		})
	}
}

package strictjson

import (
	"reflect"
	"strings"
)

// Lacks returns the members that v, a struct, decodes (by json tag, else by field name) and s
// does not name: such a member would escape the case rule, since encoding/json matches it
// case-insensitively. The packages that declare shapes test each against its type with it.
func (s Shape) Lacks(v any) []string {
	var missing []string
	typ := reflect.TypeOf(v)
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		if name == "" {
			name = strings.ToLower(typ.Field(i).Name)
		}
		if _, ok := s[name]; !ok {
			missing = append(missing, name)
		}
	}
	return missing
}

package engine

import (
	"context"
	"encoding/json"
	"testing"
	"testing/fstest"

	vbundle "github.com/verdict-pdp/verdict/pdp/bundle"
	"github.com/verdict-pdp/verdict/pdp/config"
)

// TestLogRules: data.system.log.drop and mask are prepared only when the bundle defines them,
// and are evaluated with the event as input.
func TestLogRules(t *testing.T) {
	const authz = "package verdict.authz\n\ndecision := {\"allow\": true}\n"
	const log = `package system.log

drop if input.input.action.name == "health"

mask contains "/input/token"

mask contains {"op": "upsert", "path": "/input/subject/id", "value": "***"} if input.result.allow
`
	tests := []struct {
		name               string
		files              map[string]string
		roots              []string
		event              map[string]any
		wantDrop, wantMask bool
		drop               bool
		mask               string
	}{
		{name: "no rules", files: map[string]string{"authz.rego": authz}, roots: []string{"verdict"},
			event: map[string]any{"input": map[string]any{}}, mask: "null"},
		{name: "rules, kept and masked", files: map[string]string{"authz.rego": authz, "log.rego": log},
			roots: []string{"verdict", "system"}, wantDrop: true, wantMask: true,
			event: map[string]any{"input": map[string]any{"action": map[string]any{"name": "read"}}, "result": map[string]any{"allow": true}},
			mask:  `["/input/token",{"op":"upsert","path":"/input/subject/id","value":"***"}]`},
		{name: "rules, dropped", files: map[string]string{"authz.rego": authz, "log.rego": log},
			roots: []string{"verdict", "system"}, wantDrop: true, wantMask: true, drop: true,
			event: map[string]any{"input": map[string]any{"action": map[string]any{"name": "health"}}},
			mask:  `["/input/token"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			manifest, _ := json.Marshal(map[string]any{"roots": tt.roots, "revision": "r"})
			fsys := fstest.MapFS{".manifest": {Data: manifest}}
			for name, src := range tt.files {
				fsys[name] = &fstest.MapFile{Data: []byte(src)}
			}
			b, err := vbundle.FromFS(fsys)
			if err != nil {
				t.Fatal(err)
			}
			s := activate(t, newEngine(t, config.Default().Policy), b)
			if d, m := s.LogRules(); d != tt.wantDrop || m != tt.wantMask {
				t.Fatalf("LogRules() = %v, %v; want %v, %v", d, m, tt.wantDrop, tt.wantMask)
			}
			drop, err := s.LogDrop(context.Background(), tt.event)
			if err != nil || drop != tt.drop {
				t.Errorf("LogDrop() = %v, %v; want %v", drop, err, tt.drop)
			}
			mask, err := s.LogMask(context.Background(), tt.event)
			if got, _ := json.Marshal(mask); err != nil || string(got) != tt.mask {
				t.Errorf("LogMask() = %s, %v; want %s", got, err, tt.mask)
			}
		})
	}
}

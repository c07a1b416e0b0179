package tests

import (
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestEval: `verdict eval` takes the request shapes of /v1/authorize ("action": "read"
// included), says how to give an input when standard input is empty, and has no --addr.
func TestEval(t *testing.T) {
	inst := startVerdict(t, "", "--dev")
	m := regexp.MustCompile(`export TOKEN=(\S+)`).FindStringSubmatch(inst.output.String())
	if m == nil {
		t.Fatalf("no token printed:\n%s", inst.output.String())
	}
	const viewer = `"subject":{"id":"alice","properties":{"roles":["viewer"],"tenant":"acme"}},`
	const doc = `"resource":{"type":"document","id":"d1","properties":{"tenant":"acme","owner":"alice"}}`
	bad := filepath.Join(t.TempDir(), "bad")
	writeFiles(t, bad, map[string]string{
		"authz.rego": "package verdict.authz\n\ndecision := {\"allow\": true}\n",
		"data.json":  `{"verdict":{"search":{"subjects":"not an object"}}}`,
	})
	tests := []struct {
		name  string
		args  []string
		stdin string
		want  string // a part of the output
		fails bool
	}{
		{name: "action shorthand", stdin: `{` + viewer + `"action":"read",` + doc + `}`, want: `"allow": true`},
		{name: "action object", stdin: `{` + viewer + `"action":{"name":"read"},` + doc + `}`, want: `"allow": true`},
		{name: "native body with the dev token", args: []string{"--dev", "--token", m[1]},
			stdin: `{"action":"read",` + doc + `,"context":{}}`, want: `"allow": true`},
		{name: "viewer may not update", stdin: `{` + viewer + `"action":"update",` + doc + `}`, want: `"allow": false`},
		{name: "empty standard input", stdin: "", fails: true,
			want: "no input on standard input: give a JSON request such as"},
		{name: "as the API, resource.id is required", stdin: `{"action":"read","resource":{"type":"document"}}`, fails: true,
			want: "standard input: resource.id is required"},
		{name: "a bundle serve refuses is refused", args: []string{"--bundle", bad}, fails: true,
			stdin: `{` + viewer + `"action":"read",` + doc + `}`, want: "data.verdict.search has the wrong shape"},
		{name: "no --addr", args: []string{"--addr", "127.0.0.1:1"}, stdin: `{}`, fails: true,
			want: "unknown flag: --addr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, verdictBin(t), append([]string{"eval"}, tt.args...)...)
			cmd.Dir = inst.Dir
			cmd.Stdin = strings.NewReader(tt.stdin)
			out, err := cmd.CombinedOutput()
			if (err != nil) != tt.fails || !strings.Contains(string(out), tt.want) {
				t.Errorf("eval %v: error %v, output:\n%s\nwant failure %v with %q", tt.args, err, out, tt.fails, tt.want)
			}
		})
	}
}

package tests

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// noteBundle is a bundle whose allow writes a note with trace().
const noteBundle = `package verdict.authz

default allow := false

allow if {
	input.subject.properties.tenant == input.resource.properties.tenant
	trace(sprintf("tenant %s matches", [input.resource.properties.tenant]))
}

decision := {"allow": allow}
`

// runVerdict runs the binary in dir with args and stdin, and returns its combined output.
func runVerdict(t *testing.T, dir, stdin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, verdictBin(t), args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestEvalExplain: verdict eval prints the trace of a decision (--explain), the value of
// another rule (--entrypoint) and reads AuthZEN evaluations (--api authzen).
func TestEvalExplain(t *testing.T) {
	dir := t.TempDir()
	notes := filepath.Join(dir, "notes")
	if err := os.MkdirAll(notes, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(notes, "authz.rego"), []byte(noteBundle), 0o600); err != nil {
		t.Fatal(err)
	}
	const viewer = `"subject":{"type":"user","id":"alice","properties":{"roles":["viewer"],"tenant":"acme"}},`
	const doc = `"resource":{"type":"document","id":"d1","properties":{"tenant":"acme","owner":"bob"}}`
	read := `{` + viewer + `"action":"read",` + doc + `}`
	tests := []struct {
		name  string
		args  []string
		stdin string
		want  []string // parts of the output
		fails bool
	}{
		{name: "notes name the note and the rules that led to it", args: []string{"--bundle", notes, "--explain", "notes"},
			stdin: read, want: []string{`"allow": true`, "explain notes:", `Note "tenant acme matches"`,
				"Enter data.verdict.authz.allow", "authz.rego:"}},
		{name: "notes of a policy that writes none", args: []string{"--explain", "notes"}, stdin: read,
			want: []string{`"allow": true`, "(no notes: the policy wrote none with trace())"}},
		{name: "fails show why a deny came out", args: []string{"--explain", "fails"},
			stdin: `{` + viewer + `"action":"update",` + doc + `}`,
			want:  []string{`"allow": false`, "explain fails:", "Enter data.verdict.rbac.allow", "Fail ", "/rbac.rego:"}},
		{name: "full shows every rule", args: []string{"--explain", "full"}, stdin: read,
			want: []string{"Exit data.verdict.authz.decision", "Enter data.verdict.risk"}},
		{name: "entrypoint prints another rule", args: []string{"--entrypoint", "verdict/rbac/allow"}, stdin: read,
			want: []string{`"entrypoint": "verdict/rbac/allow"`, `"defined": true`, `"result": true`}},
		{name: "entrypoint with its trace", args: []string{"--entrypoint", "/verdict/rbac/allow/", "--explain", "full"}, stdin: read,
			want: []string{`"entrypoint": "verdict/rbac/allow"`, "Exit data.verdict.rbac.allow"}},
		{name: "undefined entrypoint", args: []string{"--entrypoint", "verdict/rbac/no_such_rule"}, stdin: read,
			want: []string{`"defined": false`}},
		{name: "authzen evaluation", args: []string{"--api", "authzen"},
			stdin: `{` + viewer + `"action":{"name":"read"},` + doc + `}`, want: []string{`"allow": true`}},
		{name: "authzen evaluation explained", args: []string{"--api", "authzen", "--explain", "fails"},
			stdin: `{` + viewer + `"action":{"name":"delete"},` + doc + `}`, want: []string{`"allow": false`, "Fail "}},
		{name: "authzen refuses a native shorthand action", args: []string{"--api", "authzen"}, stdin: read, fails: true,
			want: []string{"standard input: action must be a JSON object"}},
		{name: "authzen takes no token", args: []string{"--api", "authzen", "--token", "x"}, stdin: read, fails: true,
			want: []string{"--token is for --api native"}},
		{name: "unknown api", args: []string{"--api", "grpc"}, stdin: read, fails: true,
			want: []string{`--api must be native or authzen, not "grpc"`}},
		{name: "unknown explain mode", args: []string{"--explain", "debug"}, stdin: read, fails: true,
			want: []string{"--explain: explain mode must be notes, fails or full"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runVerdict(t, dir, tt.stdin, append([]string{"eval"}, tt.args...)...)
			if (err != nil) != tt.fails {
				t.Errorf("eval %v: error %v, want failure %v; output:\n%s", tt.args, err, tt.fails, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("eval %v: output lacks %q:\n%s", tt.args, w, out)
				}
			}
		})
	}
}

// TestExplainOverHTTP: the served APIs answer ?explain with the trace under --dev and for the
// admin API key, and refuse it to anyone else.
func TestExplainOverHTTP(t *testing.T) {
	dev := startVerdict(t, "", "--dev")
	m := regexp.MustCompile(`export TOKEN=(\S+)`).FindStringSubmatch(dev.output.String())
	if m == nil {
		t.Fatalf("no token printed:\n%s", dev.output.String())
	}
	sum := sha256.Sum256([]byte("explain-admin"))
	admin := startVerdictEnv(t, "", []string{"VERDICT_ADMIN_API_KEYS_SHA256=" + hex.EncodeToString(sum[:])})
	const native = `{"action":"read","resource":{"type":"document","id":"d1","properties":{"tenant":"acme","owner":"bob"}}}`
	const authzen = `{"subject":{"type":"user","id":"alice","properties":{"roles":["viewer"],"tenant":"acme"}},` +
		`"action":{"name":"read"},"resource":{"type":"document","id":"d1","properties":{"tenant":"acme"}}}`
	tests := []struct {
		name    string
		url     string
		body    string
		headers []string
		status  int
		want    string
	}{
		{name: "dev, native", url: dev.URL + "/v1/authorize?explain=full", body: native,
			headers: []string{"Authorization", "Bearer " + m[1]}, status: 200, want: `"explanation":[`},
		{name: "admin key, authzen", url: admin.URL + "/access/v1/evaluation?explain=fails", body: authzen,
			headers: []string{"X-Verdict-Admin-Key", "explain-admin"}, status: 200, want: `"explanation":[`},
		{name: "wrong key, authzen", url: admin.URL + "/access/v1/evaluation?explain=full", body: authzen,
			headers: []string{"X-Verdict-Admin-Key", "guess"}, status: 403, want: `"code":"access_denied"`},
		{name: "no key, authzen", url: admin.URL + "/access/v1/evaluation?explain=notes", body: authzen,
			status: 403, want: "explain is for administrators"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(t, http.MethodPost, tt.url, strings.NewReader(tt.body), append([]string{"Content-Type", "application/json"}, tt.headers...)...)
			if resp.Status != tt.status || !strings.Contains(string(resp.Body), tt.want) {
				t.Errorf("status %d, body %s; want %d with %q", resp.Status, resp.Body, tt.status, tt.want)
			}
			if tt.status != 200 && strings.Contains(string(resp.Body), "explanation") {
				t.Errorf("a refused caller got a trace: %s", resp.Body)
			}
		})
	}
}

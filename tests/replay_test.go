package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// replayEvent is a decision-log event of the built-in policy, its result as the policy gives it.
func replayEvent(id, role, action, owner string, allow bool) string {
	return fmt.Sprintf(`{"decision_id":%q,"path":"/v1/authorize","revision":"sha256:17e18db0fbbb",`+
		`"input":{"subject":{"type":"user","id":"alice","properties":{"roles":[%q],"tenant":"acme","amr":["pwd","otp"],"auth_time":1795341540}},`+
		`"action":{"name":%q},"resource":{"type":"document","id":%q,"properties":{"tenant":"acme","owner":%q,"classification":"internal"}},`+
		`"context":{"time":"2026-11-22T10:00:00Z"}},"result":{"allow":%v,"reasons":[]},"timestamp":"2026-11-22T10:00:00.1Z"}`,
		id, role, action, "doc-"+id, owner, allow)
}

// TestReplay: verdict replay re-evaluates a decision log against a candidate bundle in which
// editors lost update: the editors' updates flip to deny and nothing else does; against the
// policy that made the log nothing flips; --fail-on-change sets the exit status.
func TestReplay(t *testing.T) {
	dir := t.TempDir()
	candidate := filepath.Join(dir, "candidate")
	if err := os.CopyFS(candidate, os.DirFS("../policies")); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(filepath.Join(candidate, "embed.go"))
	data, err := os.ReadFile(filepath.Join(candidate, "data.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	roles := doc["verdict"].(map[string]any)["config"].(map[string]any)["roles"].(map[string]any)
	roles["editor"].(map[string]any)["permissions"] = []string{"create"}
	if data, err = json.Marshal(doc); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(candidate, "data.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	events := []string{
		replayEvent("1", "editor", "update", "alice", true),
		replayEvent("2", "editor", "read", "bob", true),
		replayEvent("3", "viewer", "update", "alice", false),
		replayEvent("4", "editor", "update", "alice", true),
		replayEvent("5", "editor", "delete", "alice", false),
	}
	write := func(name string, lines ...string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	log := write("log.jsonl", events...)
	bare := write("bare.jsonl", `{"subject":{"type":"user","id":"alice","properties":{"roles":["editor"],"tenant":"acme"}},`+
		`"action":{"name":"update"},"resource":{"type":"document","id":"d9","properties":{"tenant":"acme","owner":"alice"}},`+
		`"context":{"time":"2026-11-22T10:00:00Z"}}`)
	broken := write("broken.jsonl", events[1], "not json", `{"decision_id":"x","input":{"action":{"name":"read"},"resource":{"type":"document"}}}`)
	tests := []struct {
		name  string
		args  []string
		fails bool
		want  []string
	}{
		{name: "the candidate flips the editors' updates", args: []string{"--bundle", candidate, log},
			want: []string{"replayed 5 lines: 5 compared, 3 unchanged, 2 allow→deny, 0 deny→allow, 0 problems",
				"allow→deny  2  document update", "2  rbac: no role of alice grants update on document",
				"line 1: subject alice, resource document/doc-1, decision 1", "line 4: subject alice, resource document/doc-4, decision 4"}},
		{name: "fail on change", args: []string{"--bundle", candidate, "--fail-on-change", log}, fails: true,
			want: []string{"2 allow→deny", "verdict: 2 decisions changed (2 allow→deny, 0 deny→allow), 0 lines not replayed"}},
		{name: "json", args: []string{"--bundle", candidate, "--format", "json", log},
			want: []string{`"allow_to_deny": 2`, `"unchanged": 3`, `"change": "allow_to_deny"`, `"resource_type": "document"`}},
		{name: "the same policy changes nothing", args: []string{"--bundle", "../policies", "--fail-on-change", log},
			want: []string{"replayed 5 lines: 5 compared, 5 unchanged, 0 allow→deny, 0 deny→allow, 0 problems"}},
		{name: "bare inputs against the built-in policy", args: []string{"--bundle", candidate, bare},
			want: []string{"1 allow→deny"}},
		{name: "bare inputs against the candidate as baseline", args: []string{"--bundle", candidate, "--baseline", candidate, bare},
			want: []string{"1 unchanged, 0 allow→deny"}},
		{name: "unreadable lines are reported by number", args: []string{"--bundle", "../policies", "--fail-on-change", broken}, fails: true,
			want: []string{"3 lines: 1 compared, 1 unchanged", "2 problems", "line 2: not a JSON object",
				"line 3: a decision-log event without a result to compare with", "2 lines not replayed"}},
		{name: "the candidate is required", args: []string{log}, fails: true, want: []string{`"bundle" not set`}},
		{name: "a missing candidate", args: []string{"--bundle", filepath.Join(dir, "nope"), log}, fails: true,
			want: []string{"candidate: bundle"}},
		{name: "a missing log", args: []string{"--bundle", candidate, filepath.Join(dir, "nope.jsonl")}, fails: true,
			want: []string{"nope.jsonl: no such file"}},
		{name: "bad format", args: []string{"--bundle", candidate, "--format", "yaml", log}, fails: true,
			want: []string{`--format must be text or json, not "yaml"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runVerdict(t, ".", "", append([]string{"replay"}, tt.args...)...)
			if (err != nil) != tt.fails {
				t.Errorf("replay %v: error %v, want failure %v; output:\n%s", tt.args, err, tt.fails, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("replay %v: output lacks %q:\n%s", tt.args, w, out)
				}
			}
		})
	}
}

package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/verdict-pdp/verdict/pdp/engine"
)

// deciderFunc lets a function be a Decider.
type deciderFunc func(in *engine.Input) (engine.Decision, error)

func (f deciderFunc) Decide(_ context.Context, in *engine.Input) (engine.Decision, error) {
	return f(in)
}

// readOnly allows read only, and fails on action "boom".
var readOnly = deciderFunc(func(in *engine.Input) (engine.Decision, error) {
	switch in.Action.Name {
	case "boom":
		return engine.Decision{}, fmt.Errorf("%w: conflict", engine.ErrEvaluation)
	case "read":
		return engine.Decision{Allow: true, Reasons: []string{"reads are fine"}}, nil
	}
	return engine.Decision{Reasons: []string{"only reads", "rbac: no"}}, nil
})

// allowAll is a baseline that allows everything.
var allowAll = deciderFunc(func(*engine.Input) (engine.Decision, error) { return engine.Decision{Allow: true}, nil })

func logLine(id, action, resourceType, subject string, allow bool) string {
	return fmt.Sprintf(`{"decision_id":%q,"path":"/v1/authorize","input":{"subject":{"type":"user","id":%q},`+
		`"action":{"name":%q},"resource":{"type":%q,"id":"r-%s"},"context":{"time":"2026-11-22T10:00:00Z"}},`+
		`"result":{"allow":%v,"reasons":[]},"timestamp":"2026-11-22T10:00:00.1Z"}`, id, subject, action, resourceType, id, allow)
}

func TestRun(t *testing.T) {
	bare := `{"subject":{"type":"user","id":"carol"},"action":{"name":"delete"},"resource":{"type":"project","id":"p1"}}`
	tests := []struct {
		name     string
		lines    []string
		baseline Decider
		want     Report
	}{
		{
			name: "flips both ways, grouped, the first examples kept",
			lines: []string{
				logLine("d1", "update", "document", "alice", true),
				logLine("d2", "read", "document", "bob", false),
				logLine("d3", "update", "document", "bob", true),
				logLine("d4", "read", "document", "alice", true),
				logLine("d5", "update", "document", "carol", true),
				logLine("d6", "update", "document", "dave", true),
				logLine("d7", "delete", "project", "erin", false),
			},
			want: Report{Lines: 7, Compared: 7, Unchanged: 2, AllowToDeny: 4, DenyToAllow: 1, Details: []Problem{},
				Changes: []Group{
					{Change: AllowToDeny, ResourceType: "document", Action: "update", Count: 4, Reasons: []ReasonCount{{"only reads; rbac: no", 4}},
						Examples: []Example{{1, "d1", "alice", "r-d1"}, {3, "d3", "bob", "r-d3"}, {5, "d5", "carol", "r-d5"}}},
					{Change: DenyToAllow, ResourceType: "document", Action: "read", Count: 1, Reasons: []ReasonCount{{"reads are fine", 1}},
						Examples: []Example{{2, "d2", "bob", "r-d2"}}},
				}},
		},
		{
			name:     "bare inputs compare with the baseline",
			lines:    []string{bare, "", "   "},
			baseline: allowAll,
			want: Report{Lines: 1, Compared: 1, AllowToDeny: 1, Details: []Problem{}, Changes: []Group{
				{Change: AllowToDeny, ResourceType: "project", Action: "delete", Count: 1, Reasons: []ReasonCount{{"only reads; rbac: no", 1}},
					Examples: []Example{{1, "", "carol", "p1"}}}}},
		},
		{
			name:  "a bare boolean result",
			lines: []string{`{"input":{"action":{"name":"read"},"resource":{"type":"document"}},"result":true}`},
			want:  Report{Lines: 1, Compared: 1, Unchanged: 1, Details: []Problem{}, Changes: []Group{}},
		},
		{
			name: "problems are counted with their line numbers, never skipped",
			lines: []string{
				"not json",
				bare,
				`{"decision_id":"x","input":{"action":{"name":"read"},"resource":{"type":"document"}}}`,
				`{"decision_id":"x","input":{"action":{"name":"read"},"resource":{"type":"document"}},"result":{"allow":"yes"}}`,
				`{"decision_id":"x","input":{"action":"read","resource":{"type":"document"}},"result":{"allow":true}}`,
				`{"decision_id":"x","input":{"resource":{"type":"document"}},"result":{"allow":true}}`,
				`[1,2]`,
				`{"decision_id":"x","input":"read","result":true}`,
				`{"decision_id":"x","input":{"action":{"name":"read"},"resource":{"type":"document"}},"result":true} x`,
				`{"decision_id":7,"input":{"action":{"name":"read"},"resource":{"type":"document"}},"result":true}`,
				`{"decision_id":"x","input":{"action":{"name":"read"},"resource":{"type":"document"}},"result":[true]}`,
				`{"decision_id":"x","input":{"subject":{"properties":[1]},"action":{"name":"read"},"resource":{"type":"document"}},"result":true}`,
				`{"decision_id":"x","input":{"token":{"claims":5},"action":{"name":"read"},"resource":{"type":"document"}},"result":true}`,
				`{"subject":"alice","action":{"name":"read"},"resource":{"type":"document"}}`,
			},
			want: Report{Lines: 14, Problems: 14, Changes: []Group{}, Details: []Problem{
				{1, "not a JSON object"},
				{2, "a bare policy input, and no baseline policy to compare with"},
				{3, "a decision-log event without a result to compare with"},
				{4, "result.allow is missing or not a boolean"},
				{5, "input is not a policy input document: action has the wrong JSON type"},
				{6, "input lacks action.name or resource.type"},
				{7, "not a JSON object"},
				{8, "input is not a policy input document: malformed JSON"},
				{9, "not a JSON object"},
				{10, "not a JSON object"},
				{11, "result is neither an object nor a boolean"},
				{12, "input is not a policy input document: subject.properties has the wrong JSON type"},
				{13, "input is not a policy input document: token.claims has the wrong JSON type"},
				{14, "input is not a policy input document: subject has the wrong JSON type"},
			}},
		},
		{
			name:  "a candidate that fails is a problem and a deny",
			lines: []string{logLine("d1", "boom", "document", "alice", true)},
			want: Report{Lines: 1, Compared: 1, AllowToDeny: 1, Problems: 1,
				Details: []Problem{{1, "candidate: policy evaluation failed: conflict"}},
				Changes: []Group{{Change: AllowToDeny, ResourceType: "document", Action: "boom", Count: 1, Reasons: []ReasonCount{{"", 1}},
					Examples: []Example{{1, "d1", "alice", "r-d1"}}}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Run(context.Background(), Config{Candidate: readOnly, Baseline: tt.baseline, Workers: 3},
				strings.NewReader(strings.Join(tt.lines, "\n")+"\n"))
			if err != nil {
				t.Fatalf("Run() error = %v", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				gotJSON, _ := json.MarshalIndent(got, "", " ")
				t.Errorf("Run() =\n%s\nwant %+v", gotJSON, tt.want)
			}
		})
	}
}

// TestRunPinsTheLoggedTime: the candidate decides at the logged context.time, as the server did.
func TestRunPinsTheLoggedTime(t *testing.T) {
	var seen time.Time
	candidate := deciderFunc(func(in *engine.Input) (engine.Decision, error) {
		seen = in.Now
		return engine.Decision{}, nil
	})
	if _, err := Run(context.Background(), Config{Candidate: candidate, Workers: 1},
		strings.NewReader(logLine("d1", "read", "document", "alice", false))); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC); !seen.Equal(want) {
		t.Errorf("Now = %v, want %v", seen, want)
	}
}

func TestRunErrors(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		input string
		want  string
	}{
		{name: "no candidate", cfg: Config{}, input: "", want: "no candidate policy"},
		{name: "line too long", cfg: Config{Candidate: readOnly}, input: "{}\n" + strings.Repeat("x", maxLineBytes+1),
			want: "line 2: bufio.Scanner: token too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(context.Background(), tt.cfg, strings.NewReader(tt.input))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run() error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestChangedAndText(t *testing.T) {
	r, err := Run(context.Background(), Config{Candidate: readOnly, Workers: 2},
		strings.NewReader(logLine("d1", "update", "document", "alice", true)+"\nnot json\n"))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"replayed 2 lines: 1 compared, 0 unchanged, 1 allow→deny, 0 deny→allow, 1 problems",
		"allow→deny  1  document update\n       1  only reads; rbac: no\n  line 1: subject alice, resource document/r-d1, decision d1",
		"problems (1; the first 1):\n  line 2: not a JSON object",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, b.String())
		}
	}
	if !r.Changed() {
		t.Error("Changed() = false with a flip")
	}
	if (&Report{Unchanged: 3}).Changed() {
		t.Error("Changed() = true without a flip")
	}
}

// TestReasonsPerGroup: a group counts its decisions by reason set, the most frequent first, at
// most reportedReasons of them, and folds sets beyond maxReasonSets into one.
func TestReasonsPerGroup(t *testing.T) {
	a := newAggregate(1)
	in := &engine.Input{Action: engine.Action{Name: "update"}, Resource: engine.Resource{Type: "document"}}
	add := func(why string, n int) {
		for range n {
			a.add(outcome{line: 1, in: in, evaluated: true, before: true, reasons: []string{why}})
		}
	}
	add("b", 3)
	add("a", 3)
	add("c", 5)
	for i := range maxReasonSets {
		add(fmt.Sprintf("x%04d", i), 1)
	}
	g := a.result().Changes[0]
	want := []ReasonCount{{"c", 5}, {otherReasons, 3}, {"a", 3}, {"b", 3}, {"x0000", 1}}
	if g.Count != 11+maxReasonSets || !reflect.DeepEqual(g.Reasons, want) {
		t.Errorf("group = %d %+v, want %d %+v", g.Count, g.Reasons, 11+maxReasonSets, want)
	}
}

// TestLineReaderReusesPrincipalsExactly decides every line of a log with subjects and tokens
// repeating across lines twice: read by one lineReader, which converts each distinct subject and
// token once, and each by a fresh one. The decisions must be the same.
func TestLineReaderReusesPrincipalsExactly(t *testing.T) {
	snap := builtinSnapshot(t)
	token := `,"token":{"kind":"jwt","issuer":"https://idp.example.com","claims":{"sub":"u1","n":12345678901234567890}}}`
	// 100 distinct subjects, each on two lines, and 30 of them again with a token.
	lines := strings.Split(strings.TrimSpace(string(benchLog(100))), "\n")
	lines = append(lines, lines...)
	for i := range 30 {
		lines = append(lines, strings.Replace(lines[i], `}},"result"`, `}`+token+`,"result"`, 1))
	}
	shared := newLineReader()
	for i, line := range lines {
		a, errA := shared.parseLine([]byte(line))
		b, errB := newLineReader().parseLine([]byte(line))
		if errA != nil || errB != nil {
			t.Fatalf("line %d: %v, %v", i+1, errA, errB)
		}
		da, errA := snap.Decide(context.Background(), a.in)
		db, errB := snap.Decide(context.Background(), b.in)
		if !reflect.DeepEqual(da, db) || (errA == nil) != (errB == nil) {
			t.Fatalf("line %d: shared reader %+v, %v; fresh reader %+v, %v", i+1, da, errA, db, errB)
		}
	}
	if n := len(shared.principals); n != 130 {
		t.Errorf("shared reader keeps %d principals; want 130, each subject and token converted once", n)
	}
}

// TestLineReaderBoundsPrincipals reads more distinct subjects than a lineReader keeps: it keeps
// no more than maxPrincipals, and every line still gets its own subject.
func TestLineReaderBoundsPrincipals(t *testing.T) {
	lr := newLineReader()
	for i := range 3 * maxPrincipals {
		id := fmt.Sprintf("u%d", i)
		rec, err := lr.parseLine([]byte(logLine("d", "read", "document", id, true)))
		if err != nil {
			t.Fatal(err)
		}
		if rec.in.Subject.ID != id {
			t.Fatalf("line %d: subject %q, want %q", i, rec.in.Subject.ID, id)
		}
		if n := len(lr.principals); n > maxPrincipals {
			t.Fatalf("line %d: %d principals kept, want at most %d", i, n, maxPrincipals)
		}
	}
}

package replay

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/verdict-pdp/verdict/pdp/engine"
)

// The kinds of change.
const (
	AllowToDeny = "allow_to_deny"
	DenyToAllow = "deny_to_allow"
)

// Report is what a replay found.
type Report struct {
	// Lines is every non-blank line read.
	Lines int `json:"lines"`
	// Compared are the lines decided by the candidate and compared; the next three add up to it.
	Compared    int `json:"compared"`
	Unchanged   int `json:"unchanged"`
	AllowToDeny int `json:"allow_to_deny"`
	DenyToAllow int `json:"deny_to_allow"`
	// Problems counts the lines that could not be read or evaluated; Details lists the first.
	// A candidate that fails to evaluate a line is a problem and also compared, as a deny.
	Problems int       `json:"problems"`
	Details  []Problem `json:"problem_lines"`
	// Changes are the flipped decisions by kind, resource type, action and the candidate's
	// reasons, the largest groups first.
	Changes []Group `json:"changes"`
}

// Changed reports whether any decision flipped.
func (r *Report) Changed() bool { return r.AllowToDeny+r.DenyToAllow > 0 }

// Problem is a line that could not be replayed, or whose candidate evaluation failed.
type Problem struct {
	Line    int    `json:"line"`
	Problem string `json:"problem"`
}

// Group is one kind of change: its decisions by the candidate's reasons, the most frequent
// first, and the first examples.
type Group struct {
	Change       string         `json:"change"`
	ResourceType string         `json:"resource_type"`
	Action       string         `json:"action"`
	Count        int            `json:"count"`
	Reasons      []ReasonCount  `json:"reasons"`
	Examples     []Example      `json:"examples"`
	reasons      map[string]int // while aggregating
}

// ReasonCount is how many decisions of a group gave one set of reasons, joined with "; ".
type ReasonCount struct {
	Reasons string `json:"reasons"`
	Count   int    `json:"count"`
}

// Bounds of a group's reasons: the distinct sets counted (more fall under otherReasons) and
// the sets reported.
const (
	maxReasonSets   = 1000
	reportedReasons = 5
	otherReasons    = "(other reasons)"
)

// Example is one flipped decision: the earliest lines of its group.
type Example struct {
	Line       int    `json:"line"`
	DecisionID string `json:"decision_id,omitempty"`
	Subject    string `json:"subject"`
	ResourceID string `json:"resource_id"`
}

// outcome is one line replayed.
type outcome struct {
	line       int
	decisionID string
	in         *engine.Input
	problem    string
	// evaluated is set when the candidate decided the line, so before and after compare.
	evaluated     bool
	before, after bool
	reasons       []string
}

type groupKey struct{ change, resourceType, action string }

// aggregate sums outcomes; one goroutine owns it.
type aggregate struct {
	examples int
	sum      Report
	groups   map[groupKey]*Group
}

func newAggregate(examples int) *aggregate {
	if examples <= 0 {
		examples = DefaultExamples
	}
	return &aggregate{examples: examples, groups: map[groupKey]*Group{}, sum: Report{Details: []Problem{}}}
}

func (a *aggregate) add(o outcome) {
	r := &a.sum
	r.Lines++
	if o.problem != "" {
		r.Problems++
		r.Details = keepFirst(r.Details, Problem{Line: o.line, Problem: o.problem}, maxProblems,
			func(p Problem) int { return p.Line })
	}
	if !o.evaluated {
		return
	}
	r.Compared++
	change := ""
	switch {
	case o.before == o.after:
		r.Unchanged++
		return
	case o.before:
		r.AllowToDeny++
		change = AllowToDeny
	default:
		r.DenyToAllow++
		change = DenyToAllow
	}
	key := groupKey{change: change, resourceType: o.in.Resource.Type, action: o.in.Action.Name}
	g := a.groups[key]
	if g == nil {
		g = &Group{Change: key.change, ResourceType: key.resourceType, Action: key.action, reasons: map[string]int{}}
		a.groups[key] = g
	}
	g.Count++
	why := strings.Join(o.reasons, "; ")
	if _, ok := g.reasons[why]; !ok && len(g.reasons) >= maxReasonSets {
		why = otherReasons
	}
	g.reasons[why]++
	g.Examples = keepFirst(g.Examples, Example{Line: o.line, DecisionID: o.decisionID, Subject: o.in.Subject.ID,
		ResourceID: o.in.Resource.ID}, a.examples, func(e Example) int { return e.Line })
}

// keepFirst adds x to list, keeping the n with the lowest line numbers in line order, so the
// report does not depend on which worker finished first.
func keepFirst[T any](list []T, x T, n int, line func(T) int) []T {
	i, _ := slices.BinarySearchFunc(list, line(x), func(e T, l int) int { return cmp.Compare(line(e), l) })
	if i >= n {
		return list
	}
	list = slices.Insert(list, i, x)
	if len(list) > n {
		list = list[:n]
	}
	return list
}

func (a *aggregate) result() *Report {
	r := a.sum
	r.Changes = make([]Group, 0, len(a.groups))
	for _, g := range a.groups {
		g.Reasons, g.reasons = topReasons(g.reasons), nil
		r.Changes = append(r.Changes, *g)
	}
	slices.SortFunc(r.Changes, func(x, y Group) int {
		return cmp.Or(cmp.Compare(y.Count, x.Count), cmp.Compare(x.Change, y.Change),
			cmp.Compare(x.ResourceType, y.ResourceType), cmp.Compare(x.Action, y.Action))
	})
	return &r
}

// topReasons lists the most frequent reason sets, ties in text order.
func topReasons(counts map[string]int) []ReasonCount {
	out := make([]ReasonCount, 0, len(counts))
	for why, n := range counts {
		out = append(out, ReasonCount{Reasons: why, Count: n})
	}
	slices.SortFunc(out, func(x, y ReasonCount) int {
		return cmp.Or(cmp.Compare(y.Count, x.Count), cmp.Compare(x.Reasons, y.Reasons))
	})
	return out[:min(len(out), reportedReasons)]
}

// WriteText writes the report for people.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "replayed %d lines: %d compared, %d unchanged, %d allow→deny, %d deny→allow, %d problems\n",
		r.Lines, r.Compared, r.Unchanged, r.AllowToDeny, r.DenyToAllow, r.Problems)
	for _, g := range r.Changes {
		fmt.Fprintf(&b, "\n%s  %d  %s %s\n", strings.ReplaceAll(g.Change, "_to_", "→"), g.Count, g.ResourceType, g.Action)
		for _, rc := range g.Reasons {
			fmt.Fprintf(&b, "  %6d  %s\n", rc.Count, orNone(rc.Reasons))
		}
		for _, e := range g.Examples {
			fmt.Fprintf(&b, "  line %d: subject %s, resource %s/%s", e.Line, e.Subject, g.ResourceType, e.ResourceID)
			if e.DecisionID != "" {
				fmt.Fprintf(&b, ", decision %s", e.DecisionID)
			}
			b.WriteString("\n")
		}
	}
	if r.Problems > 0 {
		fmt.Fprintf(&b, "\nproblems (%d; the first %d):\n", r.Problems, len(r.Details))
		for _, p := range r.Details {
			fmt.Fprintf(&b, "  line %d: %s\n", p.Line, p.Problem)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// result is one measured run: a workload on a server.
type result struct {
	workload, server string
	perRequest       int // decisions per request: 10 for batches
	requests         int
	seconds          float64
	p50us, p99us     int64
	errors           int
}

// rate is decisions per second.
func (r result) rate() float64 {
	if r.seconds == 0 {
		return 0
	}
	return float64(r.requests*r.perRequest) / r.seconds
}

// comparison is a ratio the table prints beside a row: its rate over another row's.
type comparison struct {
	workload, server, againstWorkload, againstServer, label string
}

// workloadOrder and serverOrder are the order of the table's rows, whatever order run.sh
// measured them in.
var (
	workloadOrder = []string{"W1", "W1-builtin", "W1u", "W2", "W3", "W4", "W4-http", "W1@80%"}
	serverOrder   = []string{"floor", "floor+RS256", "OPA", "Verdict"}
)

var comparisons = []comparison{
	{"W1", "Verdict", "W1", "floor", "Verdict/floor"},
	{"W1", "Verdict", "W1", "OPA", "Verdict/OPA"},
	{"W1-builtin", "Verdict", "W1-builtin", "OPA", "Verdict/OPA"},
	{"W1u", "Verdict", "W1u", "floor", "Verdict/floor"},
	{"W1u", "Verdict", "W1u", "OPA", "Verdict/OPA"},
	{"W2", "Verdict", "W2", "floor+RS256", "Verdict/(floor+RS256)"},
	{"W3", "Verdict", "W1", "Verdict", "decisions/s vs W1"},
	{"W4", "Verdict", "W1", "Verdict", "vs W1"},
	{"W4-http", "Verdict", "W1", "Verdict", "vs W1"},
}

// runTable prints the results file run.sh wrote as one Markdown table with the ratios, and
// fails when any run had errors, after printing them flagged.
func runTable(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: benchload table FILE")
	}
	f, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	results, err := parseResults(f)
	if err != nil {
		return err
	}
	return printTable(os.Stdout, results)
}

// parseResults reads lines "workload<TAB>server<TAB>decisions per request<TAB>RESULT requests
// seconds p50µs p99µs errors".
func parseResults(r io.Reader) ([]result, error) {
	var out []result
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) != 4 {
			return nil, fmt.Errorf("malformed result line %q", sc.Text())
		}
		res := result{workload: cols[0], server: cols[1]}
		var err error
		if res.perRequest, err = strconv.Atoi(cols[2]); err != nil {
			return nil, err
		}
		if _, err := fmt.Sscanf(cols[3], "RESULT %d %g %d %d %d", &res.requests, &res.seconds, &res.p50us, &res.p99us, &res.errors); err != nil {
			return nil, fmt.Errorf("result of %s on %s: %q: %w", res.workload, res.server, cols[3], err)
		}
		out = append(out, res)
	}
	return out, sc.Err()
}

func printTable(w io.Writer, results []result) error {
	find := func(workload, server string) (result, bool) {
		for _, r := range results {
			if r.workload == workload && r.server == server {
				return r, true
			}
		}
		return result{}, false
	}
	slices.SortStableFunc(results, func(a, b result) int {
		if c := slices.Index(workloadOrder, a.workload) - slices.Index(workloadOrder, b.workload); c != 0 {
			return c
		}
		return slices.Index(serverOrder, a.server) - slices.Index(serverOrder, b.server)
	})
	flagged := 0
	fmt.Fprintln(w, "| workload | server | decisions/s | p50 | p99 | errors | ratios |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---|")
	for _, r := range results {
		var ratios []string
		for _, c := range comparisons {
			if c.workload != r.workload || c.server != r.server {
				continue
			}
			if other, ok := find(c.againstWorkload, c.againstServer); ok && other.rate() > 0 {
				ratios = append(ratios, fmt.Sprintf("%s %.2f", c.label, r.rate()/other.rate()))
			}
		}
		errs := strconv.Itoa(r.errors)
		if r.errors > 0 {
			errs += " FLAGGED"
			flagged++
		}
		fmt.Fprintf(w, "| %s | %s | %.0f | %s | %s | %s | %s |\n", r.workload, r.server, r.rate(),
			millis(r.p50us), millis(r.p99us), errs, strings.Join(ratios, ", "))
	}
	if flagged > 0 {
		return fmt.Errorf("%d runs had errors (non-2xx answers or socket errors): their figures do not count", flagged)
	}
	return nil
}

func millis(us int64) string { return fmt.Sprintf("%.2f ms", float64(us)/1000) }

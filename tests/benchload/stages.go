package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"time"
)

// tagLine is one line of `go tool pprof -tags` for the stage label: "  1.99s (67.92%): http".
var tagLine = regexp.MustCompile(`^\s*([0-9.]+)(ms|s|us|µs)\s+\(\s*[0-9.]+%\):\s+(\S+)\s*$`)

// totalLine is its header: " stage: Total 2.69s of 2.93s (91.81%)".
var totalLine = regexp.MustCompile(`stage: Total ([0-9.]+)(ms|s|us|µs) of ([0-9.]+)(ms|s|us|µs)`)

// runStages prints the CPU time per decision of each request stage (package pdp/stage) from a
// CPU profile of Verdict taken over a run of the given number of requests.
func runStages(args []string) error {
	fs := flag.NewFlagSet("stages", flag.ContinueOnError)
	file := fs.String("profile", "", "CPU profile of the server")
	requests := fs.Float64("requests", 0, "requests served while the profile was taken")
	per := fs.Float64("per", 1, "decisions per request")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" || *requests <= 0 {
		return fmt.Errorf("-profile and a positive -requests are required")
	}
	out, err := exec.Command("go", "tool", "pprof", "-tags", *file).Output()
	if err != nil {
		return fmt.Errorf("go tool pprof -tags %s: %w", *file, err)
	}
	decisions := *requests * *per
	var labelled, total time.Duration
	fmt.Printf("    CPU per decision by stage (%s, %.0f decisions):", *file, decisions)
	sc := bufio.NewScanner(bytes.NewReader(out))
	inStage := false
	for sc.Scan() {
		line := sc.Text()
		if m := totalLine.FindStringSubmatch(line); m != nil {
			labelled, total = duration(m[1], m[2]), duration(m[3], m[4])
			inStage = true
			continue
		}
		m := tagLine.FindStringSubmatch(line)
		if m == nil {
			inStage = false
			continue
		}
		if inStage {
			fmt.Printf(" %s %.1f µs,", m[3], float64(duration(m[1], m[2]).Microseconds())/decisions)
		}
	}
	fmt.Printf(" unlabelled (GC, runtime) %.1f µs; total %.1f µs\n",
		float64((total-labelled).Microseconds())/decisions, float64(total.Microseconds())/decisions)
	return nil
}

func duration(value, unit string) time.Duration {
	f, _ := strconv.ParseFloat(value, 64)
	switch unit {
	case "s":
		return time.Duration(f * float64(time.Second))
	case "ms":
		return time.Duration(f * float64(time.Millisecond))
	default:
		return time.Duration(f * float64(time.Microsecond))
	}
}

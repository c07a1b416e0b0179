// Command benchload is the Go half of `make bench-load` (tests/benchload/run.sh): it writes the
// key, key set and tokens the servers are measured with, serves the floor the others are
// compared against, checks each server's answers before it is measured, drives Verdict at a
// constant rate, and prints the one table of the run. It only ever targets the loopback URLs
// run.sh gives it.
//
//	benchload gen -dir DIR -issuer ISS          key, JWKS, tokens and bodies into DIR
//	benchload port                              a free loopback port
//	benchload floor -addr ADDR [-pub PEM]       the floor server (with -pub: one RS256 check a request),
//	                                            also the decision-log receiver of W4-http (POST /logs)
//	benchload probe -url URL -mode MODE ...     the answers a server must give before it is measured
//	benchload rate -url URL -dir DIR -rate N    constant-rate load, latency from the scheduled time
//	benchload table FILE                        the results table with its ratios
//	benchload stages -profile F -requests N     CPU time per decision by request stage
package main

import (
	"fmt"
	"os"
)

func main() {
	commands := map[string]func([]string) error{
		"gen":    runGen,
		"port":   runPort,
		"floor":  runFloor,
		"probe":  runProbe,
		"rate":   runRate,
		"table":  runTable,
		"stages": runStages,
	}
	if len(os.Args) < 2 || commands[os.Args[1]] == nil {
		fmt.Fprintln(os.Stderr, "usage: benchload gen|port|floor|probe|rate|table|stages [flags]")
		os.Exit(2)
	}
	if err := commands[os.Args[1]](os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "benchload %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

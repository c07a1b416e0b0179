package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/verdict-pdp/verdict/tests/loadclient"
)

// rateConnections is how many keep-alive connections the constant-rate generator spreads the
// schedule over, as wrk2 does: request i goes out on connection i mod rateConnections when it
// is due, or as soon as that connection is free if the server has fallen behind.
const rateConnections = 16

// runRate sends POST /v1/authorize at a constant -rate for -duration, cycling the tokens and
// bodies gen wrote, and prints one RESULT line as bench.lua does. Latency is measured from the
// time each request was due, not from when it went out, so a stalled server shows in the tail
// (no coordinated omission).
func runRate(args []string) error {
	fs := flag.NewFlagSet("rate", flag.ContinueOnError)
	url := fs.String("url", "", "Verdict base URL (loopback)")
	dir := fs.String("dir", "", "directory gen wrote (tokens.txt, bodies.txt)")
	rate := fs.Float64("rate", 0, "requests per second")
	duration := fs.Duration("duration", 8*time.Second, "how long to send")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *url == "" || *rate <= 0 {
		return fmt.Errorf("-url and a positive -rate are required")
	}
	tokens, err := readLines(filepath.Join(*dir, "tokens.txt"))
	if err != nil {
		return err
	}
	res := constantRate(*url+"/v1/authorize", tokens, bodies, *rate, *duration)
	_, err = fmt.Println(res.line())
	return err
}

type rateResult struct {
	latencies []time.Duration
	errors    int
	elapsed   time.Duration
}

// line is the RESULT line run.sh collects: requests, seconds, p50 and p99 in µs, errors.
func (r rateResult) line() string {
	slices.Sort(r.latencies)
	pct := func(p float64) int64 {
		if len(r.latencies) == 0 {
			return 0
		}
		return r.latencies[min(len(r.latencies)-1, int(p*float64(len(r.latencies))))].Microseconds()
	}
	return fmt.Sprintf("RESULT %d %.3f %d %d %d", len(r.latencies)+r.errors, r.elapsed.Seconds(), pct(0.50), pct(0.99), r.errors)
}

func constantRate(url string, tokens, bodies []string, rate float64, duration time.Duration) rateResult {
	client := &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: rateConnections},
		Timeout:   10 * time.Second,
	}
	ctx, cancel := context.WithTimeout(context.Background(), duration+10*time.Second)
	defer cancel()
	var (
		mu  sync.Mutex
		res rateResult
		wg  sync.WaitGroup
	)
	interval := time.Duration(float64(time.Second) / rate)
	total := int(duration / interval)
	start := time.Now()
	for c := range rateConnections {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []time.Duration
			failed := 0
			for i := c; i < total && ctx.Err() == nil; i += rateConnections {
				due := start.Add(time.Duration(i) * interval)
				time.Sleep(time.Until(due))
				if err := loadclient.Authorize(ctx, client, url, tokens[i%len(tokens)], []byte(bodies[i%len(bodies)])); err != nil {
					failed++
					continue
				}
				local = append(local, time.Since(due))
			}
			mu.Lock()
			defer mu.Unlock()
			res.latencies = append(res.latencies, local...)
			res.errors += failed
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

func readLines(path string) ([]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lines := strings.Fields(string(raw))
	if len(lines) == 0 {
		return nil, fmt.Errorf("%s: empty", path)
	}
	return lines, nil
}

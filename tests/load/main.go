// Command load drives POST /v1/authorize on a running Verdict for a bounded time and prints
// throughput and latency percentiles. It only targets the URL it is given; `make load` starts a
// development server on a loopback port and points it there.
//
//	go run ./tests/load -url http://127.0.0.1:8181 -token "$TOKEN" -duration 10s -concurrency 16
//
// With -distinct N it presents N distinct tokens instead, each once, minted with the
// development key under -dev-dir (padded to about -token-bytes), and then prints the server's
// memory (of process -pid) and verified-token cache: `make token-memory` measures what many
// distinct tokens cost.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/verdict-pdp/verdict/tests/loadclient"
)

const defaultBody = `{"action":"read","resource":{"type":"document","id":"doc-42",` +
	`"properties":{"tenant":"acme","owner":"alice","classification":"internal"}}}`

func main() {
	url := flag.String("url", "http://127.0.0.1:8181", "Verdict base URL")
	tok := flag.String("token", "", "bearer token (required)")
	body := flag.String("body", defaultBody, "request body")
	duration := flag.Duration("duration", 10*time.Second, "how long to send requests")
	concurrency := flag.Int("concurrency", 16, "requests in flight")
	maxRequests := flag.Int("max-requests", 2_000_000, "stop after this many requests")
	var d distinct
	flag.IntVar(&d.n, "distinct", 0, "present this many distinct tokens, each once, instead of -token")
	flag.IntVar(&d.bytes, "token-bytes", 400, "with -distinct, the approximate length of each token")
	flag.StringVar(&d.devDir, "dev-dir", "", "with -distinct, the server's working directory (its dev key is in .verdict/)")
	flag.IntVar(&d.pid, "pid", 0, "with -distinct, the server's process id, for its memory")
	flag.Parse()
	if *tok == "" {
		fmt.Fprintln(os.Stderr, "load: -token is required")
		os.Exit(2)
	}
	endpoint := *url + "/v1/authorize"
	if err := probe(endpoint, *tok, []byte(*body)); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
	tokens := func(int64) (string, error) { return *tok, nil }
	if d.n > 0 {
		var err error
		if tokens, err = d.tokens(); err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			os.Exit(1)
		}
		*maxRequests = d.n
	}
	res, err := run(endpoint, tokens, []byte(*body), *duration, *concurrency, *maxRequests)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
	res.print(os.Stdout, *concurrency)
	if d.n > 0 {
		if err := d.report(os.Stdout, *url); err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			os.Exit(1)
		}
	}
	if res.failed > 0 {
		os.Exit(1)
	}
}

type result struct {
	latencies []time.Duration
	failed    int
	elapsed   time.Duration
}

// run sends requests until duration ends or maxRequests are sent; request i presents tokens(i).
func run(url string, tokens func(int64) (string, error), body []byte, duration time.Duration, concurrency, maxRequests int) (result, error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}, Timeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var (
		mu    sync.Mutex
		res   result
		sent  atomic.Int64
		wg    sync.WaitGroup
		first error
	)
	start := time.Now()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []time.Duration
			failed := 0
			for i := sent.Add(1); ctx.Err() == nil && i <= int64(maxRequests); i = sent.Add(1) {
				t0 := time.Now()
				tok, err := tokens(i)
				if err == nil {
					err = loadclient.Authorize(ctx, client, url, tok, body)
				}
				if ctx.Err() != nil {
					break
				}
				if err != nil {
					failed++
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					continue
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			res.latencies = append(res.latencies, local...)
			res.failed += failed
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	if len(res.latencies) == 0 && first != nil {
		return res, first
	}
	return res, nil
}

// probe sends one request and prints the decision, so a run that only measures denials or
// errors (a stale token, a changed policy) shows at once.
func probe(url, tok string, body []byte) error {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("probe: status %d: %s", resp.StatusCode, bytes.TrimSpace(raw))
	}
	var d struct {
		Allow   bool     `json:"allow"`
		Reasons []string `json:"reasons"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	fmt.Printf("probe: allow=%t reasons=%q\n", d.Allow, d.Reasons)
	return nil
}

func (r result) print(w io.Writer, concurrency int) {
	slices.Sort(r.latencies)
	pct := func(p float64) time.Duration {
		if len(r.latencies) == 0 {
			return 0
		}
		return r.latencies[min(len(r.latencies)-1, int(p*float64(len(r.latencies))))]
	}
	fmt.Fprintf(w, "requests: %d ok, %d failed in %s with %d in flight\n",
		len(r.latencies), r.failed, r.elapsed.Round(time.Millisecond), concurrency)
	fmt.Fprintf(w, "throughput: %.0f decisions/s\n", float64(len(r.latencies))/r.elapsed.Seconds())
	fmt.Fprintf(w, "latency: p50 %s  p90 %s  p99 %s  max %s\n",
		pct(0.50).Round(time.Microsecond), pct(0.90).Round(time.Microsecond),
		pct(0.99).Round(time.Microsecond), pct(1).Round(time.Microsecond))
}

// Command load drives POST /v1/authorize on a running Verdict for a bounded time and prints
// throughput and latency percentiles. It only targets the URL it is given; `make load` starts a
// development server on a loopback port and points it there.
//
//	go run ./tests/load -url http://127.0.0.1:8181 -token "$TOKEN" -duration 10s -concurrency 16
//
// -api forward-auth asks /v1/forward-auth instead (GET of -path, appended as Envoy's HTTP
// ext_authz does), and -api grpc the gRPC ext_authz API at -grpc-addr with the same question
// on one HTTP/2 connection, as an Envoy worker does: `make load-extauthz` runs the two side by side.
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

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

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
	flag.IntVar(&d.pid, "pid", 0, "the server's process id, for its CPU time per request (and with -distinct its memory)")
	api := flag.String("api", "authorize", "what to ask: authorize, forward-auth or grpc")
	grpcAddr := flag.String("grpc-addr", "", "with -api grpc, the server's server.grpc_addr")
	path := flag.String("path", "/documents/doc-1", "with -api forward-auth or grpc, the original path (GET)")
	flag.Parse()
	if *tok == "" {
		fmt.Fprintln(os.Stderr, "load: -token is required")
		os.Exit(2)
	}
	send, err := sender(*api, *url, *grpcAddr, *path, []byte(*body), *concurrency)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(2)
	}
	if *api == "authorize" {
		err = probe(*url+"/v1/authorize", *tok, []byte(*body))
	} else if err = send(context.Background(), *tok); err == nil {
		fmt.Println("probe: allowed")
	}
	if err != nil {
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
	cpu0 := cpuTime(d.pid)
	res, err := run(send, tokens, *duration, *concurrency, *maxRequests)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
	res.print(os.Stdout, *concurrency)
	if cpu := cpuTime(d.pid) - cpu0; cpu > 0 && len(res.latencies) > 0 {
		fmt.Printf("server CPU: %s, %s per request\n", cpu, (cpu / time.Duration(len(res.latencies))).Round(time.Microsecond))
	}
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

// sender is the request of -api, with token the bearer token.
func sender(api, url, grpcAddr, path string, body []byte, concurrency int) (func(context.Context, string) error, error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}, Timeout: 10 * time.Second}
	switch api {
	case "authorize":
		endpoint := url + "/v1/authorize"
		return func(ctx context.Context, tok string) error {
			return loadclient.Authorize(ctx, client, endpoint, tok, body)
		}, nil
	case "forward-auth":
		endpoint := url + "/v1/forward-auth" + path
		return func(ctx context.Context, tok string) error {
			return loadclient.ForwardAuth(ctx, client, endpoint, tok)
		}, nil
	case "grpc":
		conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return nil, err
		}
		authz := authv3.NewAuthorizationClient(conn)
		return func(ctx context.Context, tok string) error {
			return loadclient.Check(ctx, authz, path, tok)
		}, nil
	default:
		return nil, fmt.Errorf("-api %q: want authorize, forward-auth or grpc", api)
	}
}

// run sends requests until duration ends or maxRequests are sent; request i presents tokens(i).
func run(send func(context.Context, string) error, tokens func(int64) (string, error), duration time.Duration, concurrency, maxRequests int) (result, error) {
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
					err = send(ctx, tok)
				}
				// On a busy machine the context's timer may fire late: gRPC already fails calls
				// past the deadline, which are the run's end, not failures.
				if deadline, _ := ctx.Deadline(); ctx.Err() != nil || !time.Now().Before(deadline) {
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
// errors (a stale token, a changed policy) shows at once; -api forward-auth and grpc send one
// of their own requests instead, which must be allowed.
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

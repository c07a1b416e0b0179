package httpapi

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/decisionlog"
)

// receiverEnv, when set, makes TestDecisionLogReceiverProcess serve as the benchmark's
// decision-log receiver instead of skipping.
const receiverEnv = "VERDICT_BENCH_LOG_RECEIVER"

// TestDecisionLogReceiverProcess is the receiver BenchmarkAuthorizeDecisionLog runs in a
// process of its own: it prints its address and discards every body without decompressing
// it, until its standard input closes.
func TestDecisionLogReceiverProcess(t *testing.T) {
	if os.Getenv(receiverEnv) == "" {
		t.Skip("only run by BenchmarkAuthorizeDecisionLog")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println(ln.Addr())
	go func() {
		_ = http.Serve(ln, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) }))
	}()
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// startReceiver runs TestDecisionLogReceiverProcess in a child process and returns its URL, so
// that the receiver's CPU is not counted as the sink's.
func startReceiver(b *testing.B) string {
	cmd := exec.Command(os.Args[0], "-test.run=^TestDecisionLogReceiverProcess$")
	cmd.Env = append(os.Environ(), receiverEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = stdin.Close(); _ = cmd.Wait() })
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	return "http://" + addr[:len(addr)-1]
}

// BenchmarkAuthorizeDecisionLog is BenchmarkAuthorize with the decision log off, writing to a
// file, and with the http sink sending every record to a receiver in another process, so
// that benchstat on them gives the CPU per decision each sink costs (docs/performance.md).
// Run them interleaved: -count=10, one process.
func BenchmarkAuthorizeDecisionLog(b *testing.B) {
	url := startReceiver(b)
	for _, cache := range []struct {
		name  string
		bytes int64
	}{{"repeated", config.DefaultDecisionCacheBytes}, {"uncached", 0}} {
		for _, sink := range []string{"none", "file", "http"} {
			b.Run(cache.name+"/"+sink, func(b *testing.B) {
				f := newFixtureWith(b, true, func(cfg *config.Config, d *Deps) {
					cacheBytes(cache.bytes)(cfg, d)
					dl := config.DecisionLog{Sink: sink, Path: filepath.Join(b.TempDir(), "decisions.log"),
						HTTP: &config.DecisionLogHTTP{URL: url}}
					dl.SetDefaults()
					l, err := decisionlog.New(dl, b.TempDir(), decisionlog.Deps{Logger: d.Logger})
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { _ = l.Close(context.Background()) })
					d.DecisionLog = l
				})
				tok := f.token(b, nil)
				b.ReportAllocs()
				b.ResetTimer() // the fixture's allocations are not the decisions'
				cpu := processCPU()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if rec := f.post(tok, readInternal); rec.Code != 200 {
							b.Errorf("status %d", rec.Code)
							return
						}
					}
				})
				b.StopTimer()
				// The log's encoder and uploader run beside the handlers: the process's CPU
				// time is what the sink costs, not the handlers' wall time.
				b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
				if st := f.srv.deps.DecisionLog.Stats(); st.Dropped+st.WriteErrors > 0 {
					b.Logf("decision log lost %d records", st.Dropped+st.WriteErrors)
				}
			})
		}
	}
}

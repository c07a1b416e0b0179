package httpapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/decisionlog"
)

// BenchmarkAuthorizeDecisionLog is BenchmarkAuthorize with the decision log off and with the
// http sink sending every record to an in-process receiver (which only reads the body), so
// that benchstat on the two gives the CPU per decision the http sink costs
// (docs/performance.md). Run the two interleaved: -count=10, one process.
func BenchmarkAuthorizeDecisionLog(b *testing.B) {
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer receiver.Close()
	for _, cache := range []struct {
		name  string
		bytes int64
	}{{"repeated", config.DefaultDecisionCacheBytes}, {"uncached", 0}} {
		for _, sink := range []string{"none", "http"} {
			b.Run(cache.name+"/"+sink, func(b *testing.B) {
				f := newFixtureWith(b, true, func(cfg *config.Config, d *Deps) {
					cacheBytes(cache.bytes)(cfg, d)
					dl := config.DecisionLog{Sink: sink, HTTP: &config.DecisionLogHTTP{URL: receiver.URL}}
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
				// The log's encoder and uploader, and the receiver, run beside the handlers:
				// the process's CPU time is what the sink costs, not the handlers' wall time.
				b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
				if st := f.srv.deps.DecisionLog.Stats(); st.Dropped+st.WriteErrors > 0 {
					b.Logf("decision log lost %d records", st.Dropped+st.WriteErrors)
				}
			})
		}
	}
}

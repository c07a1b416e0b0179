package bundle_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	opabundle "github.com/open-policy-agent/opa/v1/bundle"

	"github.com/verdict-pdp/verdict/pdp/bundle"
	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/engine"
)

// BenchmarkActivateData measures what a bundle's data costs in memory: a manager starts from a
// .tar.gz file whose data.json holds the given number of MB of user records, reads it, checks
// it, activates it and persists it, as `verdict serve` does. It reports the peak heap in use
// during the start (sampled every millisecond), the heap still live once it is done, and each
// per MB of data.json. docs/performance.md lists the figures; `make bench-memory` runs it.
func BenchmarkActivateData(b *testing.B) {
	for _, mb := range []int{4, 16} {
		b.Run(fmt.Sprintf("%dMB", mb), func(b *testing.B) {
			data := userData(mb << 20)
			path := filepath.Join(b.TempDir(), "bundle.tar.gz")
			raw := rawTarGz(b,
				".manifest", `{"revision": "big", "roots": ["verdict"]}`,
				"authz.rego", "package verdict.authz\n\ndecision := {\"allow\": count(data.verdict.users) > 0}\n",
				"data.json", string(data))
			if err := os.WriteFile(path, raw, 0o600); err != nil {
				b.Fatal(err)
			}
			dataMB := float64(len(data)) / (1 << 20)
			var peak, live, total float64
			for b.Loop() {
				p, l, t := measureStart(b, path)
				peak, live, total = max(peak, p), max(live, l), max(total, t)
			}
			b.ReportMetric(peak/(1<<20), "peak-heap-MB")
			b.ReportMetric(peak/(1<<20)/dataMB, "peak-MB/data-MB")
			b.ReportMetric(live/(1<<20)/dataMB, "live-MB/data-MB")
			b.ReportMetric(total/(1<<20)/dataMB, "alloc-MB/data-MB")
		})
	}
}

// measureStart starts a manager on the bundle at path and returns the peak heap in use above
// the heap live before, the heap live after (the snapshot kept), and the bytes allocated.
func measureStart(b *testing.B, path string) (peak, live, total float64) {
	cfg := config.Policy{Bundle: path, MaxBundleBytes: 64 << 20}
	cfg.SetDefaults()
	eng, err := engine.New(cfg, engine.Deps{})
	if err != nil {
		b.Fatal(err)
	}
	m, err := bundle.NewManager(bundle.ManagerConfig{Policy: cfg, DataDir: b.TempDir()}, bundle.ManagerDeps{
		Activate: func(ctx context.Context, bd *opabundle.Bundle) error {
			_, err := eng.Activate(ctx, bd)
			return err
		},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	base := heapAfterGC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	stop := sampleHeap()
	if err := m.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	top := stop()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	kept := heapAfterGC()
	runtime.KeepAlive(eng.Current())
	return float64(top - base), float64(kept - base), float64(after.TotalAlloc - before.TotalAlloc)
}

// sampleHeap samples HeapInuse every millisecond until the returned function is called, which
// returns the highest value seen.
func sampleHeap() func() uint64 {
	var (
		mu   sync.Mutex
		top  uint64
		done = make(chan struct{})
		wg   sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			mu.Lock()
			top = max(top, ms.HeapInuse)
			mu.Unlock()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return max(top, ms.HeapInuse)
	}
}

func heapAfterGC() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// userData returns a data.json of about n bytes: {"verdict": {"users": {...}}}, each user with
// roles, a tenant, an email and a few attributes, like a directory a policy looks people up in.
func userData(n int) []byte {
	var buf bytes.Buffer
	buf.WriteString(`{"verdict": {"users": {`)
	for i := 0; buf.Len() < n; i++ {
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `"user-%07d": {"roles": ["viewer", "editor-%d"], "tenant": "tenant-%d", "email": "user%d@example.com", "attributes": {"level": %d, "active": %t, "department": "dept-%d"}}`,
			i, i%7, i%50, i, i%5, i%3 == 0, i%20)
	}
	buf.WriteString("}}}")
	return buf.Bytes()
}

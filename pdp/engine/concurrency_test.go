package engine

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	opabundle "github.com/open-policy-agent/opa/v1/bundle"

	"github.com/verdict-pdp/verdict/pdp/config"
)

// TestDecideDuringActivation swaps revisions repeatedly while many goroutines decide. No
// decision may fail, and each must carry the revision of a snapshot that was serving at some
// moment during that very request: every activation has its own revision, numbered in order,
// and a request that starts after activation lo was published and ends before activation hi+2
// began publishing may only see revisions lo to hi+1.
func TestDecideDuringActivation(t *testing.T) {
	const (
		deciders = 16
		swaps    = 40
	)
	// The deciders are busy loops that oversubscribe the CPUs (more so under -race on a small
	// machine), so one can wait for the scheduler for a long time; timeouts are not what this
	// test is about.
	e := newEngine(t, config.Policy{DecisionTimeout: time.Minute})
	// Built up front, so the swaps come as fast as activation allows.
	bundles := make([]*opabundle.Bundle, swaps+1)
	for i := range bundles {
		rev := fmt.Sprintf("rev-%d", i)
		// The reason names the revision too, so a decision that mixed two snapshots would show.
		bundles[i] = decisionBundle(t, rev, fmt.Sprintf(`decision := {"allow": input.action.name == "read", "reasons": [%q]}`, rev))
	}
	// published is the number of the last activation whose Activate has returned.
	var published atomic.Int64
	activate(t, e, bundles[0])

	readInput := map[string]any{"action": map[string]any{"name": "read"}}
	ctx, cancel := context.WithCancel(context.Background())
	var (
		wg        sync.WaitGroup
		decisions atomic.Int64
		failures  atomic.Int64
		firstErr  atomic.Value
	)
	fail := func(msg string) {
		failures.Add(1)
		firstErr.CompareAndSwap(nil, msg)
	}
	for range deciders {
		wg.Go(func() {
			for ctx.Err() == nil {
				lo := published.Load()
				d, err := e.Decide(context.Background(), editorInput("read", "acme"))
				hi := published.Load()
				decisions.Add(1)
				switch n, ok := revisionNumber(d.Revision); {
				case err != nil:
					fail(err.Error())
				case !d.Allow || len(d.Reasons) != 1 || d.Reasons[0] != d.Revision:
					fail(fmt.Sprintf("bad decision %+v", d))
				case !ok || n < lo || n > hi+1:
					fail(fmt.Sprintf("revision %q answered a request that ran while revisions %d to %d served", d.Revision, lo, hi+1))
				}
				// The Data API path shares the snapshot's prepared-query cache across goroutines.
				if _, defined, err := e.Current().Query(context.Background(), "verdict/authz/decision/allow", readInput); err != nil || !defined {
					fail(fmt.Sprintf("query: defined %v, error %v", defined, err))
				}
			}
		})
	}
	start := time.Now()
	for i := 1; i <= swaps; i++ {
		if _, err := e.Activate(context.Background(), bundles[i]); err != nil {
			t.Errorf("Activate() error = %v", err)
		}
		published.Store(int64(i))
	}
	elapsed := time.Since(start)
	cancel()
	wg.Wait()

	if n := failures.Load(); n != 0 {
		t.Fatalf("%d of %d decisions failed; first: %v", n, decisions.Load(), firstErr.Load())
	}
	if decisions.Load() == 0 {
		t.Fatal("no decisions were made")
	}
	if got := e.Current().Revision(); got != fmt.Sprintf("rev-%d", swaps) {
		t.Errorf("serving revision = %q, want the last one", got)
	}
	t.Logf("%d decisions across %d activations (%s per activation under load)", decisions.Load(), swaps, elapsed/swaps)
}

func revisionNumber(rev string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimPrefix(rev, "rev-"), 10, 64)
	return n, err == nil && strings.HasPrefix(rev, "rev-")
}

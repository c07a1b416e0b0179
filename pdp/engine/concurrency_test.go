package engine

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	opabundle "github.com/open-policy-agent/opa/v1/bundle"

	"github.com/verdict-pdp/verdict/pdp/config"
)

// TestDecideDuringActivation swaps revisions repeatedly while many goroutines decide: no
// decision may fail, and each must carry a revision that was activated.
func TestDecideDuringActivation(t *testing.T) {
	const (
		deciders  = 16
		swaps     = 40
		revisions = 4
	)
	// The deciders are busy loops that oversubscribe the CPUs (more so under -race on a small
	// machine), so one can wait for the scheduler for a long time; timeouts are not what this
	// test is about.
	e := newEngine(t, config.Policy{DecisionTimeout: time.Minute})
	bundles := make([]*opabundle.Bundle, revisions)
	activated := make(map[string]bool, revisions)
	for i := range bundles {
		rev := fmt.Sprintf("rev-%d", i)
		// Every revision allows, and says which revision it is in its reason, so a decision
		// that mixed two snapshots would show.
		bundles[i] = decisionBundle(t, rev, fmt.Sprintf(`decision := {"allow": input.action.name == "read", "reasons": [%q]}`, rev))
		activated[rev] = true
	}
	activate(t, e, bundles[0])

	readInput := map[string]any{"action": map[string]any{"name": "read"}}
	ctx, cancel := context.WithCancel(context.Background())
	var (
		wg        sync.WaitGroup
		decisions atomic.Int64
		failures  atomic.Int64
		firstErr  atomic.Value
	)
	for range deciders {
		wg.Go(func() {
			for ctx.Err() == nil {
				d, err := e.Decide(context.Background(), editorInput("read", "acme"))
				decisions.Add(1)
				switch {
				case err != nil:
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				case !d.Allow || !activated[d.Revision] || len(d.Reasons) != 1 || d.Reasons[0] != d.Revision:
					failures.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("bad decision %+v", d))
				}
				// The Data API path shares the snapshot's prepared-query cache across goroutines.
				if _, defined, err := e.Current().Query(context.Background(), "verdict/authz/decision/allow", readInput); err != nil || !defined {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("query: defined %v, error %v", defined, err))
				}
			}
		})
	}
	for i := range swaps {
		if _, err := e.Activate(context.Background(), bundles[(i+1)%revisions]); err != nil {
			t.Errorf("Activate() error = %v", err)
		}
	}
	cancel()
	wg.Wait()

	if n := failures.Load(); n != 0 {
		t.Fatalf("%d of %d decisions failed; first: %v", n, decisions.Load(), firstErr.Load())
	}
	if decisions.Load() == 0 {
		t.Fatal("no decisions were made")
	}
	t.Logf("%d decisions across %d activations", decisions.Load(), swaps)
}

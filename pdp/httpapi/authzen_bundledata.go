package httpapi

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/verdict-pdp/verdict/pdp/bundledata"
	"github.com/verdict-pdp/verdict/pdp/engine"
	"github.com/verdict-pdp/verdict/pdp/forwardauth"
	"github.com/verdict-pdp/verdict/pdp/request"
)

// bundleData is what the standard APIs read from one snapshot's data: forward auth's route
// table (forwardauth.RoutesPath) and the entity directory (bundledata.DirectoryPath), both
// optional: without routes forward auth denies everything, without a directory searches find
// nothing and no entity is enriched. Each part carries its
// own error so a malformed route table does not break AuthZEN, nor a malformed directory
// forward auth.
type bundleData struct {
	snap     *engine.Snapshot
	routes   *forwardauth.Routes
	routeErr error
	dir      *request.Directory
	dirErr   error
}

// bundleDataCache keeps the bundleData of the current snapshot, rebuilt when the snapshot
// changes. Snapshots are immutable, so pointer identity is an exact key.
type bundleDataCache struct {
	mu  sync.Mutex
	cur atomic.Pointer[bundleData]
}

// load returns the data of snap, reading it from the snapshot on first use.
func (c *bundleDataCache) load(ctx context.Context, snap *engine.Snapshot) *bundleData {
	if d := c.cur.Load(); d != nil && d.snap == snap {
		return d
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if d := c.cur.Load(); d != nil && d.snap == snap {
		return d
	}
	d := &bundleData{snap: snap}
	d.routes, d.routeErr = forwardauth.ReadRoutes(ctx, snap)
	d.dir, d.dirErr = request.ReadDirectory(ctx, snap)
	if settled(d.routeErr) && settled(d.dirErr) {
		c.cur.Store(d)
	}
	return d
}

// settled reports whether a read's outcome holds for the snapshot's lifetime: success, or data
// of the wrong shape. A failed evaluation (a timeout, say) is retried by the next request.
func settled(err error) bool {
	return err == nil || errors.Is(err, bundledata.ErrShape)
}

// current returns the bundle data of the active snapshot.
func (a *standardAPIs) current(ctx context.Context) (*bundleData, error) {
	snap := a.deps.Policy.Current()
	if snap == nil {
		return nil, engine.ErrNoPolicy
	}
	return a.bundle.load(ctx, snap), nil
}

// directory returns the active entity directory.
func (a *standardAPIs) directory(ctx context.Context) (*request.Directory, error) {
	d, err := a.current(ctx)
	if err != nil {
		return nil, err
	}
	if d.dirErr != nil {
		return nil, d.dirErr
	}
	return d.dir, nil
}

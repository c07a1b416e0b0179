// Package bundledata reads the documents Verdict's standard APIs take from a bundle's data,
// and checks their shape when a revision is activated, so a bundle whose documents have the
// wrong shape is refused while the old revision keeps serving, instead of failing every
// request that needs them. It reads through engine.Snapshot.Query and knows nothing of HTTP.
package bundledata

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/verdict-pdp/verdict/pdp/engine"
)

// ErrShape means a document of the bundle does not have its documented shape.
var ErrShape = errors.New("malformed bundle data")

// Read reads data.<path> of snap into v through JSON; an undefined document leaves v alone. A
// document v cannot hold is ErrShape; an evaluation error is returned as it is.
func Read(ctx context.Context, snap *engine.Snapshot, path string, v any) error {
	doc, defined, err := snap.Query(ctx, path, nil)
	if err != nil || !defined {
		return err
	}
	name := "data." + strings.ReplaceAll(path, "/", ".")
	b, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %s has the wrong shape: %w", ErrShape, name, err)
	}
	return nil
}

// Check reads every document the standard APIs use from snap and returns the first that has
// the wrong shape. Wired as the engine's activation check (engine.Deps.Check), it refuses such
// a bundle before it serves.
func Check(ctx context.Context, snap *engine.Snapshot) error {
	_, err := ReadDirectory(ctx, snap)
	return err
}

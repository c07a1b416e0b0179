// Package engine embeds OPA: it builds an immutable Snapshot (store, compiler, prepared
// queries) from a policy bundle, publishes it with one atomic pointer swap, and evaluates
// decisions against the snapshot that was current when a request arrived. It knows nothing of
// HTTP.
package engine

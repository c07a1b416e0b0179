// Package bundle is where Verdict's policy comes from. It reads OPA policy bundles from a
// directory, a .tar.gz archive, an http(s) bundle server or the built-in bundle embedded in the
// binary, checking every archive in full (entry names and types, duplicates, truncation, gzip
// checksum, sizes) before OPA parses it. It signs and verifies bundles in OPA's
// .signatures.json format (Sign, Verifier), builds and inspects them (Build, Inspect, for
// `verdict bundle`), runs a bundle's own Rego unit tests with coverage (RunTests, Test: for
// `verdict test` and the policy.require_tests gate), and formats and checks Rego files as
// `opa fmt` and `opa check` do (Format, Diff, Check: for `verdict fmt` and `verdict check`).
// Every bundle it returns carries a revision: the manifest's, or one derived from a digest of
// the bundle's files.
//
// Manager keeps the serving policy current: it polls the configured source (ETag and 304, long
// polling, backoff for http(s); size and modification time for files), hands each new revision
// that passes every check to the engine through an ActivateFunc, persists the last good bundle
// under the data directory, and reports what it did in Status and Prometheus metrics.
//
// The engine turns a bundle into a servable snapshot; this package never evaluates decisions.
package bundle

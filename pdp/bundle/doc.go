// Package bundle reads OPA policy bundles for Verdict: from a directory, from a .tar.gz archive
// (checked for unsafe entry names, truncation and size before OPA parses it), or from the
// built-in bundle embedded in the binary. Every bundle it returns carries a revision: the
// manifest's, or one derived from a digest of the bundle's files. It also runs a bundle's own
// Rego unit tests with coverage, for `verdict test` and the policy.require_tests gate.
//
// The engine turns a loaded bundle into a servable snapshot; this package never evaluates
// decisions.
package bundle

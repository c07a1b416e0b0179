// Package policies holds Verdict's built-in policy bundle: the default RBAC,
// ABAC and risk policies in Rego, their tunables in data.json and the bundle
// manifest. The engine loads it when no other bundle is configured, so
// `verdict serve` works with no files around.
package policies

import "embed"

// FS holds the built-in policy bundle at its root: the Rego modules (policies
// and their _test.rego files), data.json and .manifest, laid out as an OPA
// bundle directory.
//
//go:embed *.rego data.json .manifest
var FS embed.FS

package bundle

import (
	"fmt"

	opabundle "github.com/open-policy-agent/opa/v1/bundle"

	"github.com/verdict-pdp/verdict/policies"
)

// Builtin returns the bundle embedded in the binary (package policies): the default RBAC, ABAC
// and risk policies, their data and their tests. Each call reads it afresh, so callers may
// keep or change what they get.
func Builtin() (*opabundle.Bundle, error) {
	b, err := FromFS(policies.FS)
	if err != nil {
		return nil, fmt.Errorf("built-in bundle: %w", err)
	}
	return b, nil
}

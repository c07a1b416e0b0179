package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/verdict-pdp/verdict/pdp/bundle"
	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/token"
)

// devTokenTTL is how long the token printed by serve --dev stays valid.
const devTokenTTL = 8 * time.Hour

// devPolicyDir is the policy directory --dev serves when no bundle is configured and the
// working directory has one, so that what is served is what is on disk, not the copy
// compiled into the binary.
const devPolicyDir = "./policies"

// useDevPolicies makes devPolicyDir the bundle when none is configured and it exists.
func useDevPolicies(p *config.Policy) {
	if p.Bundle != "" {
		return
	}
	if info, err := os.Stat(devPolicyDir); err == nil && info.IsDir() {
		p.Bundle = devPolicyDir
	}
}

// devIdentity is alice, an MFA-authenticated editor of tenant acme: the subject of the token
// serve --dev prints, and what a bare token mint gives (its flags default to it).
func devIdentity() mintFlags {
	return mintFlags{sub: "alice", roles: "editor", tenant: "acme",
		scopes: "document:read document:update project:read", amr: "pwd,otp"}
}

// printDevBanner prints where the policy comes from, and a ready-to-use token and curl command
// for the development issuer serving at baseURL (http://127.0.0.1:8181, or https:// with
// server.tls).
func printDevBanner(w io.Writer, key *token.DevKey, baseURL string, policy bundle.Status) error {
	identity := devIdentity()
	claims, err := identity.claimSet(time.Now())
	if err != nil {
		return err
	}
	tok, err := key.Mint(claims, devTokenTTL)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, `
Verdict is running in development mode on %[1]s.
Policy: %[4]s.
A token for alice (editor, tenant acme, MFA), valid for %[2]s:

export TOKEN=%[3]s

curl -s %[1]s/v1/authorize \
  -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"action":"read","resource":{"type":"document","id":"doc-42","properties":{"tenant":"acme","owner":"alice","classification":"internal"}}}'

`, baseURL, devTokenTTL, tok, devPolicyNote(policy))
	return err
}

// devPolicyNote says where the served policy comes from and how edits reach it.
func devPolicyNote(st bundle.Status) string {
	switch {
	case st.Kind == bundle.KindBuiltin:
		return "the built-in copy compiled into this binary (no " + devPolicyDir + " directory here; edits elsewhere are not served)"
	case st.Watching:
		return st.Describe() + ": each saved change serves within a second, or is refused with the reason in the log"
	case st.Kind == bundle.KindURL:
		return st.Describe() + ": new revisions serve at the next poll (policy.poll_interval)"
	default:
		return st.Describe() + ": changes serve at the next polls (policy.poll_interval); add --watch to serve them on save"
	}
}

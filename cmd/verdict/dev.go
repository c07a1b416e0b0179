package main

import (
	"fmt"
	"io"
	"time"

	"github.com/verdict-pdp/verdict/pdp/token"
)

// devTokenTTL is how long the token printed by serve --dev stays valid.
const devTokenTTL = 8 * time.Hour

// devIdentity is alice, an MFA-authenticated editor of tenant acme: the subject of the token
// serve --dev prints, and what a bare token mint gives (its flags default to it).
func devIdentity() mintFlags {
	return mintFlags{sub: "alice", roles: "editor", tenant: "acme",
		scopes: "document:read document:update project:read", amr: "pwd,otp"}
}

// printDevBanner prints a ready-to-use token and curl command for the development issuer
// serving at baseURL (http://127.0.0.1:8181, or https:// with server.tls).
func printDevBanner(w io.Writer, key *token.DevKey, baseURL string) error {
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
Verdict is running in development mode on %[1]s with the built-in policy.
A token for alice (editor, tenant acme, MFA), valid for %[2]s:

export TOKEN=%[3]s

curl -s %[1]s/v1/authorize \
  -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"action":"read","resource":{"type":"document","id":"doc-42","properties":{"tenant":"acme","owner":"alice","classification":"internal"}}}'

`, baseURL, devTokenTTL, tok)
	return err
}

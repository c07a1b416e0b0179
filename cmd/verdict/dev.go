package main

import (
	"fmt"
	"io"
	"time"

	"github.com/verdict-pdp/verdict/pdp/token"
)

// devTokenTTL is how long the token printed by serve --dev stays valid.
const devTokenTTL = 8 * time.Hour

// devClaims describe alice, an MFA-authenticated editor of tenant acme.
func devClaims(now time.Time) map[string]any {
	return map[string]any{
		"sub":       "alice",
		"roles":     []string{"editor"},
		"tenant":    "acme",
		"scope":     "document:read document:update project:read",
		"amr":       []string{"pwd", "otp"},
		"auth_time": now.Unix(),
	}
}

// printDevBanner prints a ready-to-use token and curl command for the development issuer.
func printDevBanner(w io.Writer, key *token.DevKey, addr string) error {
	tok, err := key.Mint(devClaims(time.Now()), devTokenTTL)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, `
Verdict is running in development mode on http://%[1]s with the built-in policy.
A token for alice (editor, tenant acme, MFA), valid for %[2]s:

export TOKEN=%[3]s

curl -s http://%[1]s/v1/authorize \
  -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"action":"read","resource":{"type":"document","id":"doc-42","properties":{"tenant":"acme","owner":"alice","classification":"internal"}}}'

`, addr, devTokenTTL, tok)
	return err
}

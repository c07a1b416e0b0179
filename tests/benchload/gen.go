package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	// keyID names the one signing key in the JWKS.
	keyID = "bench-1"
	// audience is the aud every token carries and every server requires.
	audience = "verdict"
	// tokenTTL outlives the whole run (under 5 minutes) with room to spare.
	tokenTTL = 30 * time.Minute
)

// bodies are the native request bodies of the run: a handful of resource ids, as real traffic
// repeats them. doc-4 comes from an address of bad reputation, which the small policy denies.
var bodies = []string{
	`{"action":{"name":"read"},"resource":{"type":"document","id":"doc-1","properties":{"tenant":"acme","owner":"user-2","classification":"internal"}},"context":{"ip":"203.0.113.7"}}`,
	`{"action":{"name":"read"},"resource":{"type":"document","id":"doc-2","properties":{"tenant":"acme","owner":"user-5","classification":"internal"}},"context":{"ip":"198.51.100.20"}}`,
	`{"action":{"name":"read"},"resource":{"type":"document","id":"doc-3","properties":{"tenant":"acme","owner":"user-8","classification":"public"}},"context":{"ip":"203.0.113.7","new_device":true}}`,
	`{"action":{"name":"read"},"resource":{"type":"document","id":"doc-4","properties":{"tenant":"acme","owner":"user-2","classification":"internal"}},"context":{"ip":"192.0.2.66"}}`,
	`{"action":{"name":"read"},"resource":{"type":"document","id":"doc-5","properties":{"tenant":"acme","owner":"user-1","classification":"internal"}},"context":{"ip":"203.0.113.9"}}`,
}

// profile is what one token says about its subject.
type profile struct {
	sub, tenant string
	roles, amr  []string
}

// tokenProfile spreads the run's tokens over roles, and makes one in ten lack MFA and one in
// twenty belong to another tenant, so some decisions are denials.
func tokenProfile(i int) profile {
	p := profile{
		sub:    fmt.Sprintf("user-%d", i),
		tenant: "acme",
		roles:  []string{[]string{"viewer", "editor", "admin"}[i%3]},
		amr:    []string{"pwd", "otp"},
	}
	if i%10 == 9 {
		p.amr = []string{"pwd"}
	}
	if i%20 == 19 {
		p.tenant = "globex"
	}
	return p
}

// claims returns the RFC 9068 claims of p's token from issuer at now.
func (p profile) claims(issuer string, now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss": issuer, "aud": audience, "sub": p.sub, "client_id": "bench",
		"iat": now.Unix(), "exp": now.Add(tokenTTL).Unix(), "auth_time": now.Unix(),
		"jti":   fmt.Sprintf("%s-%d", p.sub, now.UnixNano()),
		"roles": p.roles, "tenant": p.tenant, "amr": p.amr, "scope": "document:read",
	}
}

// mint signs claims with key: RS256, typ at+jwt, kid keyID.
func mint(key *rsa.PrivateKey, claims jwt.MapClaims) (string, error) {
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = keyID
	tok.Header["typ"] = "at+jwt"
	return tok.SignedString(key)
}

// subjectFragment is the "subject" and "token" members of the input Verdict builds from claims
// with the default claim mapping (docs/policies.md, "The contract with Verdict"), without the
// enclosing braces, for OPA's run of the default policy.
func subjectFragment(issuer string, c jwt.MapClaims) (string, error) {
	in := map[string]any{
		"subject": map[string]any{"type": "user", "id": c["sub"], "properties": map[string]any{
			"roles": c["roles"], "tenant": c["tenant"], "amr": c["amr"], "client_id": c["client_id"],
			"auth_time": c["auth_time"], "scopes": strings.Fields(c["scope"].(string)),
		}},
		"token": map[string]any{"kind": "jwt", "issuer": issuer, "claims": c},
	}
	raw, err := json.Marshal(in)
	if err != nil {
		return "", err
	}
	return string(raw[1 : len(raw)-1]), nil
}

// runGen writes into -dir: key.pem and pub.pem, jwks.json (for Verdict), opa-keys.json (the key
// set and issuer as OPA data), tokens.txt (one token a line), subjects.txt (each token's subject
// and claims as Verdict builds them) and bodies.txt.
func runGen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	dir := fs.String("dir", "", "directory to write into")
	issuer := fs.String("issuer", "", "iss of the tokens")
	n := fs.Int("tokens", 1000, "distinct tokens")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || *issuer == "" {
		return fmt.Errorf("-dir and -issuer are required")
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	if err := writeKeys(*dir, *issuer, key); err != nil {
		return err
	}
	now := time.Now()
	tokens := make([]string, *n)
	subjects := make([]string, *n)
	for i := range *n {
		c := tokenProfile(i).claims(*issuer, now)
		if tokens[i], err = mint(key, c); err != nil {
			return err
		}
		if subjects[i], err = subjectFragment(*issuer, c); err != nil {
			return err
		}
	}
	return writeFiles(*dir, map[string]string{
		"tokens.txt":   strings.Join(tokens, "\n") + "\n",
		"subjects.txt": strings.Join(subjects, "\n") + "\n",
		"bodies.txt":   strings.Join(bodies, "\n") + "\n",
	})
}

// writeKeys writes the private and public key as PEM, the public key as a JWKS, and the JWKS
// and issuer as OPA data under benchkeys.
func writeKeys(dir, issuer string, key *rsa.PrivateKey) error {
	priv, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	b64 := base64.RawURLEncoding.EncodeToString
	jwks, err := json.Marshal(map[string]any{"keys": []map[string]any{{
		"kty": "RSA", "kid": keyID, "use": "sig", "alg": "RS256",
		"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes()),
	}}})
	if err != nil {
		return err
	}
	opaData, err := json.Marshal(map[string]any{"benchkeys": map[string]any{"jwks": string(jwks), "issuer": issuer}})
	if err != nil {
		return err
	}
	return writeFiles(dir, map[string]string{
		"key.pem":       string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: priv})),
		"pub.pem":       string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})),
		"jwks.json":     string(jwks),
		"opa-keys.json": string(opaData),
	})
}

func writeFiles(dir string, files map[string]string) error {
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// loadKey reads the private key gen wrote.
func loadKey(dir string) (*rsa.PrivateKey, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "key.pem"))
	if err != nil {
		return nil, err
	}
	return jwt.ParseRSAPrivateKeyFromPEM(raw)
}

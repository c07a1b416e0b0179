package token

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/verdict-pdp/verdict/pdp/config"
)

const (
	testIssuer  = "https://idp.example.com"
	otherIssuer = "https://other.example.com"
)

// testNow is the fixed instant every test verifies at.
var testNow = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// fixture holds the test keys and a tokens configuration with two issuers: testIssuer (RSA
// "rsa-1" and P-256 "ec-1" in a JWKS file, typ at+jwt required, sub/client_id/iat/jti
// required, max lifetime 2h) and otherIssuer (its own RSA key "other-1", require_typ "").
type fixture struct {
	rsa, rsaOther *rsa.PrivateKey
	ec            *ecdsa.PrivateKey
	ed            ed25519.PrivateKey
	dir           string
	cfg           config.Tokens
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{
		rsa:      loadKey(t, "rsa2048.pem").(*rsa.PrivateKey),
		rsaOther: loadKey(t, "rsa2048-other.pem").(*rsa.PrivateKey),
		ec:       loadKey(t, "ec256.pem").(*ecdsa.PrivateKey),
		ed:       loadKey(t, "ed25519.pem").(ed25519.PrivateKey),
		dir:      t.TempDir(),
	}
	mainJWKS := writeJWKS(t, f.dir, "main.json",
		jwkEntry{pub: &f.rsa.PublicKey, kid: "rsa-1", alg: "RS256"},
		jwkEntry{pub: &f.ec.PublicKey, kid: "ec-1"},
	)
	otherJWKS := writeJWKS(t, f.dir, "other.json", jwkEntry{pub: &f.rsaOther.PublicKey, kid: "other-1"})
	anyTyp := ""
	f.cfg = config.Tokens{Issuers: []config.Issuer{
		{
			Issuer:         testIssuer,
			Audiences:      []string{"verdict", "verdict-api"},
			JWKSFile:       mainJWKS,
			RequiredClaims: []string{"sub", "client_id", "iat", "jti"},
			MaxLifetime:    2 * time.Hour,
			Claims:         map[string]string{"groups": "realm_access.groups"},
		},
		{Issuer: otherIssuer, Audiences: []string{"verdict"}, JWKSFile: otherJWKS, RequireTyp: &anyTyp},
	}}
	f.cfg.SetDefaults()
	return f
}

// verifier builds a Verifier over the fixture's configuration at testNow.
func (f *fixture) verifier(t testing.TB, deps Deps) *Verifier {
	t.Helper()
	if deps.Now == nil {
		deps.Now = func() time.Time { return testNow }
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	v, err := New(f.cfg, deps)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return v
}

func loadKey(t testing.TB, name string) any {
	t.Helper()
	k, err := LoadSigningKey(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return k
}

type jwkEntry struct {
	pub      any
	kid, alg string
}

func writeJWKS(t testing.TB, dir, name string, keys ...jwkEntry) string {
	t.Helper()
	set := jwkset.JWKSMarshal{}
	for _, k := range keys {
		jwk, err := jwkset.NewJWKFromKey(k.pub, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{
			KID: k.kid, ALG: jwkset.ALG(k.alg), USE: jwkset.UseSig,
		}})
		if err != nil {
			t.Fatalf("jwk %s: %v", k.kid, err)
		}
		set.Keys = append(set.Keys, jwk.Marshal())
	}
	data, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, name, data)
}

func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// claims returns a valid claim set for testIssuer at testNow, changed by edits: a nil value
// deletes the claim.
func claims(edits map[string]any) map[string]any {
	c := map[string]any{
		"iss":       testIssuer,
		"aud":       "verdict",
		"sub":       "alice",
		"exp":       testNow.Add(10 * time.Minute).Unix(),
		"iat":       testNow.Add(-time.Minute).Unix(),
		"jti":       "jti-1",
		"client_id": "web",
		"roles":     []any{"editor"},
		"tenant":    "acme",
		"scope":     "docs:read docs:write",
	}
	for k, v := range edits {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

// sign signs claims with method and key; header entries are added to (alg, typ at+jwt) and a
// nil value deletes one.
func sign(t testing.TB, method jwt.SigningMethod, key any, header, c map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, jwt.MapClaims(maps.Clone(c)))
	tok.Header["typ"] = "at+jwt"
	for k, v := range header {
		if v == nil {
			delete(tok.Header, k)
			continue
		}
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

func (f *fixture) rs256(t testing.TB, header, c map[string]any) string {
	return sign(t, jwt.SigningMethodRS256, f.rsa, withKID("rsa-1", header), c)
}

// signOther signs valid claims of otherIssuer, which sets no max_lifetime, changed by edits.
func (f *fixture) signOther(t testing.TB, edits map[string]any) string {
	edits = maps.Clone(edits)
	edits["iss"] = otherIssuer
	return sign(t, jwt.SigningMethodRS256, f.rsaOther, hdr{"kid": "other-1"}, claims(edits))
}

func (f *fixture) es256(t testing.TB, header, c map[string]any) string {
	return sign(t, jwt.SigningMethodES256, f.ec, withKID("ec-1", header), c)
}

func withKID(kid string, header map[string]any) map[string]any {
	h := map[string]any{"kid": kid}
	maps.Copy(h, header)
	return h
}

// segments splits a compact JWS.
func segments(tok string) []string { return strings.Split(tok, ".") }

// replacePayload swaps the payload of tok for the encoding of c, keeping header and signature.
func replacePayload(t testing.TB, tok string, c map[string]any) string {
	t.Helper()
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	s := segments(tok)
	return s[0] + "." + base64.RawURLEncoding.EncodeToString(data) + "." + s[2]
}

// rawToken assembles a token from raw header and payload JSON and a signature segment.
func rawToken(header, payload string, sig string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(header)) + "." + enc([]byte(payload)) + "." + sig
}

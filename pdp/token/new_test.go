package token

import (
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/verdict-pdp/verdict/pdp/config"
)

// jwkJSON marshals one JWK of pub with the given extra members (nil deletes one).
func jwkJSON(t testing.TB, key any, private bool, extra map[string]any) map[string]any {
	t.Helper()
	jwk, err := jwkset.NewJWKFromKey(key, jwkset.JWKOptions{Marshal: jwkset.JWKMarshalOptions{Private: private}})
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(jwk.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range extra {
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	return m
}

func rawJWKS(t testing.TB, dir, name string, keys ...map[string]any) string {
	t.Helper()
	data, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, name, data)
}

func TestNewRefuses(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	rsa1024 := loadPublicKey(t, "rsa1024.pub.pem").(*rsa.PublicKey)
	good := func(edit func(is *config.Issuer)) config.Tokens {
		is := config.Issuer{Issuer: testIssuer, Audiences: []string{"verdict"}, JWKSFile: f.cfg.Issuers[0].JWKSFile}
		edit(&is)
		c := config.Tokens{Issuers: []config.Issuer{is}}
		c.SetDefaults()
		return c
	}
	jwks := func(name string, keys ...map[string]any) func(is *config.Issuer) {
		return func(is *config.Issuer) { is.JWKSFile = rawJWKS(t, dir, name, keys...) }
	}
	tests := []struct {
		name    string
		cfg     config.Tokens
		refused bool // the error must say the key was refused by policy
		want    string
	}{
		{name: "RSA 1024 in a JWKS", cfg: good(jwks("rsa1024.json", jwkJSON(t, rsa1024, false, map[string]any{"kid": "small"}))), refused: true, want: "1024 bits"},
		{name: "RSA 1024 PEM", cfg: good(func(is *config.Issuer) {
			is.JWKSFile, is.PublicKeys = "", []string{filepath.Join("testdata", "rsa1024.pub.pem")}
		}), refused: true, want: "1024 bits"},
		{name: "RSA 1024 beside a good key", cfg: good(jwks("mixed.json",
			jwkJSON(t, &f.rsa.PublicKey, false, map[string]any{"kid": "good"}),
			jwkJSON(t, rsa1024, false, map[string]any{"kid": "small"}))), refused: true},
		{name: "no audience", cfg: good(func(is *config.Issuer) { is.Audiences = nil }), want: "audience"},
		{name: "empty audience", cfg: good(func(is *config.Issuer) { is.Audiences = []string{""} }), want: "audience"},
		{name: "no issuer", cfg: good(func(is *config.Issuer) { is.Issuer = "" }), want: "issuer"},
		{name: "HS256 allowed", cfg: good(func(is *config.Issuer) { is.Algorithms = []string{"RS256", "HS256"} }), want: "HS256"},
		{name: "none allowed", cfg: good(func(is *config.Issuer) { is.Algorithms = []string{"none"} }), want: "none"},
		{name: "unknown algorithm", cfg: good(func(is *config.Issuer) { is.Algorithms = []string{"ES256K"} }), want: "ES256K"},
		{name: "leeway over the maximum", cfg: good(func(is *config.Issuer) { is.Leeway = new(time.Hour) }), want: "leeway"},
		{name: "jwks_url not an http URL", cfg: good(func(is *config.Issuer) { is.JWKSFile, is.JWKSURL = "", "file:///etc/jwks.json" }), want: "jwks_url"},
		{name: "jwks_url beside jwks_file", cfg: good(func(is *config.Issuer) { is.JWKSURL = "https://idp.example.com/jwks" }), want: "not both"},
		{name: "discovery for an issuer that is not a URL", cfg: good(func(is *config.Issuer) { is.Issuer, is.JWKSFile, is.Discovery = "idp", "", true }), want: "discovery"},
		{name: "jwks_url without a rate limit", cfg: good(func(is *config.Issuer) {
			is.JWKSFile, is.JWKSURL, is.RefreshRateLimit = "", "https://idp.example.com/jwks", -1
		}), want: "refresh_rate_limit"},
		{name: "introspection without client_id", cfg: func() config.Tokens {
			c := good(func(*config.Issuer) {})
			c.Introspection = &config.Introspection{URL: "https://as.example.com/introspect"}
			c.SetDefaults()
			return c
		}(), want: "client_id"},
		{name: "no key source", cfg: good(func(is *config.Issuer) { is.JWKSFile = "" }), want: "required"},
		{name: "two key sources", cfg: good(func(is *config.Issuer) { is.PublicKeys = []string{"testdata/ec256.pub.pem"} }), want: "not both"},
		{name: "missing JWKS file", cfg: good(func(is *config.Issuer) { is.JWKSFile = filepath.Join(dir, "nope.json") }), want: "nope.json"},
		{name: "JWKS not JSON", cfg: good(func(is *config.Issuer) { is.JWKSFile = writeFile(t, dir, "bad.json", []byte("keys:")) }), want: "JWK Set"},
		{name: "empty JWKS", cfg: good(jwks("empty.json")), want: "no usable keys"},
		{name: "JWKS of encryption keys only", cfg: good(jwks("enc.json", jwkJSON(t, &f.rsa.PublicKey, false, map[string]any{"use": "enc"}))), want: "no usable keys"},
		{name: "JWKS key with private members", cfg: good(jwks("private.json", jwkJSON(t, f.rsa, true, map[string]any{"kid": "leak"}))), refused: true, want: "private"},
		{name: "JWKS symmetric key", cfg: good(jwks("oct.json", map[string]any{"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"})), refused: true},
		{name: "JWKS alg that does not fit the key", cfg: good(jwks("misfit.json", jwkJSON(t, &f.rsa.PublicKey, false, map[string]any{"alg": "ES256"}))), refused: true, want: "ES256"},
		{name: "JWKS EC point off the curve", cfg: good(jwks("offcurve.json", jwkJSON(t, &f.ec.PublicKey, false, map[string]any{"y": base64.RawURLEncoding.EncodeToString(make([]byte, 32))}))), refused: true},
		{name: "JWKS duplicate kid", cfg: good(jwks("dup.json",
			jwkJSON(t, &f.rsa.PublicKey, false, map[string]any{"kid": "k"}),
			jwkJSON(t, &f.ec.PublicKey, false, map[string]any{"kid": "k"}))), want: "twice"},
		{name: "PEM private key as public key", cfg: good(func(is *config.Issuer) {
			is.JWKSFile, is.PublicKeys = "", []string{"testdata/ec256.pem"}
		}), refused: true},
		{name: "PEM file without PEM", cfg: good(func(is *config.Issuer) {
			is.JWKSFile, is.PublicKeys = "", []string{writeFile(t, dir, "empty.pem", []byte("nothing"))}
		}), want: "no PEM"},
		{name: "PEM key the algorithms cannot use", cfg: good(func(is *config.Issuer) {
			is.JWKSFile, is.PublicKeys, is.Algorithms = "", []string{"testdata/ec256.pub.pem"}, []string{"RS256"}
		}), want: "algorithms"},
		{name: "same issuer twice", cfg: func() config.Tokens {
			c := good(func(*config.Issuer) {})
			c.Issuers = append(c.Issuers, c.Issuers[0])
			return c
		}(), want: "twice"},
		{name: "cache size zero", cfg: func() config.Tokens {
			c := good(func(*config.Issuer) {})
			c.CacheSize = -1
			return c
		}(), want: "cache_size"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New(tc.cfg, Deps{})
			if err == nil {
				t.Fatalf("New succeeded: %+v", v.Stats())
			}
			if tc.refused && !errors.Is(err, errKeyRefused) {
				t.Fatalf("err = %v, want a refused key", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// TestJWKSSkipsKeysNotForVerification loads a realistic IdP key set: alongside the signing key
// sit an encryption key, keys whose key_ops or alg say encryption, an X25519 key and a key of an
// algorithm the issuer does not allow. Only the signing key is used.
func TestJWKSSkipsKeysNotForVerification(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	path := rawJWKS(t, dir, "idp.json",
		jwkJSON(t, &f.rsa.PublicKey, false, map[string]any{"kid": "sig", "use": "sig", "alg": "RS256"}),
		jwkJSON(t, &f.rsaOther.PublicKey, false, map[string]any{"kid": "enc", "use": "enc"}),
		jwkJSON(t, &f.rsaOther.PublicKey, false, map[string]any{"kid": "ops", "key_ops": []string{"encrypt"}}),
		jwkJSON(t, &f.rsaOther.PublicKey, false, map[string]any{"kid": "oaep", "alg": "RSA-OAEP"}),
		jwkJSON(t, x25519.PublicKey(), false, map[string]any{"kid": "x25519"}),
		jwkJSON(t, &p384.PublicKey, false, map[string]any{"kid": "p384"}),
	)
	cfg := config.Tokens{Issuers: []config.Issuer{{Issuer: testIssuer, Audiences: []string{"verdict"}, JWKSFile: path}}}
	cfg.SetDefaults()
	v, err := New(cfg, Deps{Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	st := v.Stats()
	if len(st.Issuers) != 1 || !slices.Equal(st.Issuers[0].KeyIDs, []string{"sig"}) || st.Issuers[0].Source != "jwks_file" {
		t.Fatalf("stats = %+v, want only key sig", st.Issuers)
	}
	tok := sign(t, jwt.SigningMethodRS256, f.rsa, hdr{"kid": "sig"}, claims(nil))
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

// TestKeyBoundToJWKAlg checks that a JWK naming RS256 does not verify PS256, even where the
// issuer allows PS256, and that RFC 9864's Ed25519 alg binds an Ed25519 key to EdDSA.
func TestKeyBoundToJWKAlg(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	path := rawJWKS(t, dir, "bound.json",
		jwkJSON(t, &f.rsa.PublicKey, false, map[string]any{"kid": "rs", "alg": "RS256"}),
		jwkJSON(t, f.ed.Public(), false, map[string]any{"kid": "ed", "alg": "Ed25519"}),
	)
	cfg := config.Tokens{Issuers: []config.Issuer{{
		Issuer: testIssuer, Audiences: []string{"verdict"}, JWKSFile: path,
		Algorithms: []string{"RS256", "PS256", "EdDSA"},
	}}}
	cfg.SetDefaults()
	v, err := New(cfg, Deps{Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		token  string
		reason error
	}{
		{name: "RS256", token: sign(t, jwt.SigningMethodRS256, f.rsa, hdr{"kid": "rs"}, claims(nil))},
		{name: "PS256 with an RS256 key", token: sign(t, jwt.SigningMethodPS256, f.rsa, hdr{"kid": "rs"}, claims(nil)), reason: ErrKeyAlgorithm},
		{name: "EdDSA", token: sign(t, jwt.SigningMethodEdDSA, f.ed, hdr{"kid": "ed"}, claims(nil))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), tc.token)
			if tc.reason == nil && err != nil || tc.reason != nil && !errors.Is(err, tc.reason) {
				t.Fatalf("err = %v, want %v", err, tc.reason)
			}
		})
	}
}

// TestPEMKeys verifies tokens against public_keys: keys are identified by their RFC 7638
// thumbprint, several keys need a kid, and a lone PEM key accepts whatever kid the IdP uses.
func TestPEMKeys(t *testing.T) {
	f := newFixture(t)
	certPath := writeCertificate(t, f)
	multi := config.Tokens{Issuers: []config.Issuer{{
		Issuer: testIssuer, Audiences: []string{"verdict"},
		PublicKeys: []string{"testdata/rsa2048.pkcs1.pub.pem", "testdata/ec256.pub.pem", "testdata/ed25519.pub.pem"},
	}}}
	multi.SetDefaults()
	single := config.Tokens{Issuers: []config.Issuer{{Issuer: testIssuer, Audiences: []string{"verdict"}, PublicKeys: []string{certPath}}}}
	single.SetDefaults()
	deps := Deps{Now: func() time.Time { return testNow }}
	vMulti, err := New(multi, deps)
	if err != nil {
		t.Fatal(err)
	}
	vSingle, err := New(single, deps)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		v      *Verifier
		token  func(t testing.TB) string
		reason error
	}{
		{name: "RSA key by thumbprint", v: vMulti, token: func(t testing.TB) string { return mustMint(t, f.rsa, "") }},
		{name: "EC key by thumbprint", v: vMulti, token: func(t testing.TB) string { return mustMint(t, f.ec, "") }},
		{name: "Ed25519 key by thumbprint", v: vMulti, token: func(t testing.TB) string { return mustMint(t, f.ed, "") }},
		{name: "several keys, no kid", v: vMulti, reason: ErrUnknownKey, token: func(t testing.TB) string {
			return sign(t, jwt.SigningMethodES256, f.ec, nil, claims(nil))
		}},
		{name: "several keys, unknown kid", v: vMulti, reason: ErrUnknownKey, token: func(t testing.TB) string { return mustMint(t, f.ec, "idp-kid") }},
		{name: "lone key, any kid", v: vSingle, token: func(t testing.TB) string { return mustMint(t, f.ec, "idp-kid") }},
		{name: "lone key, no kid", v: vSingle, token: func(t testing.TB) string {
			return sign(t, jwt.SigningMethodES256, f.ec, nil, claims(nil))
		}},
		{name: "lone key, wrong algorithm", v: vSingle, reason: ErrKeyAlgorithm, token: func(t testing.TB) string { return mustMint(t, f.rsa, "idp-kid") }},
		{name: "lone key, another key", v: vSingle, reason: jwt.ErrTokenSignatureInvalid, token: func(t testing.TB) string {
			other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			return mustMint(t, other, "idp-kid")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.v.Verify(context.Background(), tc.token(t))
			if tc.reason == nil && err != nil || tc.reason != nil && !errors.Is(err, tc.reason) {
				t.Fatalf("err = %v, want %v", err, tc.reason)
			}
		})
	}
}

func mustMint(t testing.TB, key crypto.Signer, kid string) string {
	t.Helper()
	tok, err := Mint(key, kid, claims(nil))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// writeCertificate writes a self-signed certificate for the fixture's EC key.
func writeCertificate(t testing.TB, f *fixture) string {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "idp.example.com"},
		NotBefore:    testNow.Add(-time.Hour),
		NotAfter:     testNow.Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &f.ec.PublicKey, f.ec)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, t.TempDir(), "idp.crt", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// TestThumbprint checks the RFC 7638 §3.1 example.
func TestThumbprint(t *testing.T) {
	n, err := base64.RawURLEncoding.DecodeString("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Thumbprint(&rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537})
	if err != nil {
		t.Fatal(err)
	}
	if want := "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; got != want {
		t.Fatalf("Thumbprint = %s, want %s", got, want)
	}
}

func loadPublicKey(t testing.TB, name string) any {
	t.Helper()
	data, err := readKeyFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

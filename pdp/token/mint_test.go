package token

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/verdict-pdp/verdict/pdp/config"
)

// TestLoadSigningKey covers the file around the key; which PEM encodings and keys are accepted is
// pemkey's test.
func TestLoadSigningKey(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		wantAlg string
		err     string
	}{
		{name: "PKCS#8 RSA", file: "testdata/rsa2048.pem", wantAlg: "RS256"},
		{name: "RSA 1024 refused", file: "testdata/rsa1024.pem", err: "1024 bits"},
		{name: "public key", file: "testdata/ec256.pub.pem", err: "unsupported PEM block"},
		{name: "missing file", file: "testdata/nope.pem", err: "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key, err := LoadSigningKey(tc.file)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			method, err := signingMethodFor(key)
			if err != nil || method.Alg() != tc.wantAlg {
				t.Fatalf("alg = %v, %v; want %s", method, err, tc.wantAlg)
			}
		})
	}
}

func TestMint(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name    string
		key     crypto.Signer
		kid     string
		claims  map[string]any
		wantAlg string
		wantKID string
		err     string
	}{
		{name: "RSA", key: f.rsa, kid: "rsa-1", claims: claims(nil), wantAlg: "RS256", wantKID: "rsa-1"},
		{name: "P-256", key: f.ec, kid: "ec-1", claims: claims(nil), wantAlg: "ES256", wantKID: "ec-1"},
		{name: "Ed25519, thumbprint kid", key: f.ed, claims: claims(nil), wantAlg: "EdDSA", wantKID: mustThumbprint(t, f.ed.Public())},
		{name: "defaults filled", key: f.ec, kid: "ec-1", claims: claims(clm{"jti": nil, "client_id": nil, "iat": nil}), wantAlg: "ES256", wantKID: "ec-1"},
		{name: "time.Time exp", key: f.ec, kid: "ec-1", claims: claims(clm{"exp": testNow.Add(time.Minute)}), wantAlg: "ES256", wantKID: "ec-1"},
		{name: "no exp", key: f.ec, claims: claims(clm{"exp": nil}), err: "exp is required"},
		{name: "no aud", key: f.ec, claims: claims(clm{"aud": nil}), err: "aud is required"},
		{name: "small RSA", key: loadSmallRSA(t), claims: claims(nil), err: "1024 bits"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := Mint(tc.key, tc.kid, tc.claims)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			parsed, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
			if err != nil {
				t.Fatal(err)
			}
			if parsed.Header["alg"] != tc.wantAlg || parsed.Header["typ"] != "at+jwt" || parsed.Header["kid"] != tc.wantKID {
				t.Fatalf("header = %v", parsed.Header)
			}
			c := parsed.Claims.(jwt.MapClaims)
			for _, name := range []string{"iss", "aud", "exp", "iat", "jti", "client_id"} {
				if _, ok := c[name]; !ok {
					t.Fatalf("claim %s missing: %v", name, c)
				}
			}
			if _, isNumber := c["exp"].(float64); !isNumber {
				t.Fatalf("exp = %#v, want a number", c["exp"])
			}
		})
	}
}

func loadSmallRSA(t *testing.T) crypto.Signer {
	t.Helper()
	data, err := os.ReadFile("testdata/rsa1024.pem")
	if err != nil {
		t.Fatal(err)
	}
	key, err := jwt.ParseRSAPrivateKeyFromPEM(data)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func mustThumbprint(t *testing.T, pub crypto.PublicKey) string {
	t.Helper()
	s, err := Thumbprint(pub)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDevKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".verdict")
	d, err := LoadOrCreateDevKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		assertMode(t, dir, 0o700)
		assertMode(t, filepath.Join(dir, DevKeyFile), 0o600)
	}

	again, err := LoadOrCreateDevKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if again.KeyID() != d.KeyID() || !again.key.Equal(d.key) {
		t.Fatal("second load made a new key")
	}

	is := d.Issuer()
	if is.Issuer != DevIssuer || is.Audiences[0] != DevAudience || is.JWKSFile != filepath.Join(dir, DevJWKSFile) {
		t.Fatalf("issuer = %+v", is)
	}
	d.now = func() time.Time { return testNow }
	tok, err := d.Mint(map[string]any{"sub": "alice", "roles": []string{"editor"}}, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Tokens{Issuers: []config.Issuer{is}}
	cfg.SetDefaults()
	v, err := New(cfg, Deps{Now: func() time.Time { return testNow.Add(time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatalf("dev token refused: %v", err)
	}
	if p.Subject != "alice" || p.Properties["client_id"] != DefaultClientID || !p.ExpiresAt.Equal(testNow.Add(5*time.Minute)) {
		t.Fatalf("principal = %+v", p)
	}
	if st := v.Stats(); st.Issuers[0].KeyIDs[0] != d.KeyID() {
		t.Fatalf("key ids = %v, want %s", st.Issuers[0].KeyIDs, d.KeyID())
	}

	// The JWKS file holds no private material.
	data, err := os.ReadFile(is.JWKSFile)
	if err != nil {
		t.Fatal(err)
	}
	var set struct{ Keys []map[string]any }
	if err := json.Unmarshal(data, &set); err != nil || len(set.Keys) != 1 || set.Keys[0]["d"] != nil {
		t.Fatalf("jwks = %s (%v)", data, err)
	}
}

func TestDevKeyRefusesReadableKey(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no POSIX modes")
	}
	dir := t.TempDir()
	if _, err := LoadOrCreateDevKey(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, DevKeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateDevKey(dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("err = %v, want a refusal", err)
	}
}

func TestDevKeyRefusesOtherKeyTypes(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile("testdata/rsa2048.pem")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, DevKeyFile, data)
	if _, err := LoadOrCreateDevKey(dir); err == nil || !strings.Contains(err.Error(), "P-256") {
		t.Fatalf("err = %v, want a refusal of the RSA key", err)
	}
}

// TestDevKeyConcurrentCreate starts several first runs at once: all must end with one key.
func TestDevKeyConcurrentCreate(t *testing.T) {
	dir := t.TempDir()
	keys := make([]*DevKey, 8)
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() { keys[i], errs[i] = LoadOrCreateDevKey(dir) })
	}
	wg.Wait()
	for i := range keys {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if keys[i].KeyID() != keys[0].KeyID() {
			t.Fatal("concurrent first runs made different keys")
		}
	}
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != want {
		t.Fatalf("%s mode = %04o, want %04o", path, got, want)
	}
}

// TestLoadDevKey: LoadDevKey finds the key LoadOrCreateDevKey made and never makes one.
func TestLoadDevKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".verdict")
	if _, err := LoadDevKey(dir); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), filepath.Join(dir, DevKeyFile)) {
		t.Fatalf("LoadDevKey of a missing key: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("LoadDevKey created %s: %v", dir, err)
	}
	made, err := LoadOrCreateDevKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadDevKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.KeyID() != made.KeyID() {
		t.Fatalf("kid %s, want %s", loaded.KeyID(), made.KeyID())
	}
}

func TestMintWithType(t *testing.T) {
	d, err := LoadOrCreateDevKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	claims := map[string]any{"iss": DevIssuer, "aud": DevAudience, "exp": time.Now().Add(time.Hour)}
	tests := []struct {
		name string
		typ  string
		want any
	}{
		{name: "JWT", typ: "JWT", want: "JWT"},
		{name: "at+jwt", typ: "at+jwt", want: "at+jwt"},
		{name: "empty leaves it out", typ: "", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := MintWithType(d.Signer(), d.KeyID(), tt.typ, claims)
			if err != nil {
				t.Fatal(err)
			}
			parsed, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
			if err != nil {
				t.Fatal(err)
			}
			if got := parsed.Header["typ"]; got != tt.want {
				t.Errorf("typ %v, want %v", got, tt.want)
			}
		})
	}
}

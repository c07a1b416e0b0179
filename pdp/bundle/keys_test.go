package bundle

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"sync"
	"testing"
)

// testKey is a key pair in PEM.
type testKey struct {
	priv, pub []byte
}

// testKeys are generated once per test binary: RSA keys are slow to make under -race.
var testKeys = sync.OnceValue(func() map[string]testKey {
	rsa1, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsa2, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaSmall, _ := rsa.GenerateKey(rand.Reader, 1024)
	ec256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	return map[string]testKey{
		"rsa": pemPair(rsa1), "rsa-other": pemPair(rsa2), "rsa1024": pemPair(rsaSmall),
		"ec256": pemPair(ec256), "ec384": pemPair(ec384), "ed25519": pemPair(ed),
	}
})

func pemPair(k crypto.Signer) testKey {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		panic(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		panic(err)
	}
	return testKey{
		priv: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		pub:  pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}),
	}
}

// TestBadKeys checks that a key pemkey refuses reaches callers as ErrBadKey: through Sign for
// private keys, NewVerifier for public ones. Which encodings parse, and why a key is refused,
// is pemkey's test.
func TestBadKeys(t *testing.T) {
	keys := testKeys()
	tests := []struct {
		name    string
		pem     []byte
		private bool
	}{
		{name: "rsa under 2048 bits", pem: keys["rsa1024"].priv, private: true},
		{name: "rsa public under 2048 bits", pem: keys["rsa1024"].pub},
		{name: "public key as private", pem: keys["rsa"].pub, private: true},
		{name: "private key as public", pem: keys["rsa"].priv},
		{name: "not pem", pem: []byte("not a key"), private: true},
		{name: "garbage in a pem block", pem: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("x")})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.private {
				_, err = Sign(tarGz(t, basicEntries(t)), testLimit, SignOptions{Key: tt.pem})
			} else {
				_, err = NewVerifier(map[string][]byte{DefaultKeyID: tt.pem}, DefaultKeyID, "")
			}
			if !errors.Is(err, ErrBadKey) {
				t.Fatalf("error = %v, want ErrBadKey", err)
			}
		})
	}
}

func TestAlgorithmFor(t *testing.T) {
	keys := testKeys()
	pub := func(name string) crypto.PublicKey {
		block, _ := pem.Decode(keys[name].pub)
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	tests := []struct {
		name, key, want string
		wantAlg         string
		wantErr         bool
	}{
		{name: "rsa defaults to RS256", key: "rsa", wantAlg: "RS256"},
		{name: "p-256 defaults to ES256", key: "ec256", wantAlg: "ES256"},
		{name: "ed25519 defaults to EdDSA", key: "ed25519", wantAlg: "EdDSA"},
		{name: "rsa takes PS256", key: "rsa", want: "PS256", wantAlg: "PS256"},
		{name: "rsa takes RS512", key: "rsa", want: "RS512", wantAlg: "RS512"},
		{name: "rsa refuses ES256", key: "rsa", want: "ES256", wantErr: true},
		{name: "rsa refuses HS256", key: "rsa", want: "HS256", wantErr: true},
		{name: "p-256 refuses ES384", key: "ec256", want: "ES384", wantErr: true},
		{name: "p-384 takes ES384", key: "ec384", want: "ES384", wantAlg: "ES384"},
		{name: "ed25519 refuses none", key: "ed25519", want: "none", wantErr: true},
		{name: "rsa under 2048 bits", key: "rsa1024", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := algorithmFor(pub(tt.key), tt.want)
			if tt.wantErr {
				if !errors.Is(err, ErrBadKey) {
					t.Fatalf("algorithmFor(%s, %q) = %q, %v, want ErrBadKey", tt.key, tt.want, got, err)
				}
				return
			}
			if err != nil || got != tt.wantAlg {
				t.Errorf("algorithmFor(%s, %q) = %q, %v, want %q", tt.key, tt.want, got, err, tt.wantAlg)
			}
		})
	}
}

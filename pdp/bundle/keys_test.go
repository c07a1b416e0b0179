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

func TestParseKeys(t *testing.T) {
	keys := testKeys()
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)})
	pkcs1Pub := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)})
	tests := []struct {
		name    string
		pem     []byte
		private bool
		wantAlg string
		wantErr bool
	}{
		{name: "rsa pkcs8", pem: keys["rsa"].priv, private: true, wantAlg: "RS256"},
		{name: "rsa pkcs1", pem: pkcs1, private: true, wantAlg: "RS256"},
		{name: "ec p-256", pem: keys["ec256"].priv, private: true, wantAlg: "ES256"},
		{name: "ec p-384", pem: keys["ec384"].priv, private: true, wantAlg: "ES384"},
		{name: "ed25519", pem: keys["ed25519"].priv, private: true, wantAlg: "EdDSA"},
		{name: "rsa public", pem: keys["rsa"].pub, wantAlg: "RS256"},
		{name: "rsa pkcs1 public", pem: pkcs1Pub, wantAlg: "RS256"},
		{name: "ed25519 public", pem: keys["ed25519"].pub, wantAlg: "EdDSA"},
		{name: "rsa under 2048 bits", pem: keys["rsa1024"].priv, private: true, wantErr: true},
		{name: "rsa public under 2048 bits", pem: keys["rsa1024"].pub, wantErr: true},
		{name: "public key as private", pem: keys["rsa"].pub, private: true, wantErr: true},
		{name: "private key as public", pem: keys["rsa"].priv, wantErr: true},
		{name: "not pem", pem: []byte("not a key"), private: true, wantErr: true},
		{name: "garbage in a pem block", pem: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("x")}), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pub crypto.PublicKey
			var err error
			if tt.private {
				var s crypto.Signer
				if s, err = parsePrivateKey(tt.pem); err == nil {
					pub = s.Public()
				}
			} else {
				pub, err = parsePublicKey(tt.pem)
			}
			if tt.wantErr {
				if !errors.Is(err, ErrBadKey) {
					t.Fatalf("error = %v, want ErrBadKey", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if alg, err := algorithmFor(pub, ""); err != nil || alg != tt.wantAlg {
				t.Errorf("algorithmFor() = %q, %v, want %q", alg, err, tt.wantAlg)
			}
		})
	}
}

func TestAlgorithmFor(t *testing.T) {
	keys := testKeys()
	pub := func(name string) crypto.PublicKey {
		k, err := parsePublicKey(keys[name].pub)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	tests := []struct {
		name, key, want string
		wantErr         bool
	}{
		{name: "rsa takes PS256", key: "rsa", want: "PS256"},
		{name: "rsa takes RS512", key: "rsa", want: "RS512"},
		{name: "rsa refuses ES256", key: "rsa", want: "ES256", wantErr: true},
		{name: "rsa refuses HS256", key: "rsa", want: "HS256", wantErr: true},
		{name: "p-256 refuses ES384", key: "ec256", want: "ES384", wantErr: true},
		{name: "p-384 takes ES384", key: "ec384", want: "ES384"},
		{name: "ed25519 refuses none", key: "ed25519", want: "none", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := algorithmFor(pub(tt.key), tt.want)
			if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
				t.Errorf("algorithmFor(%s, %s) = %q, %v", tt.key, tt.want, got, err)
			}
		})
	}
}

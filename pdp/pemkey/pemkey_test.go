package pemkey

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"math/big"
	"slices"
	"sync"
	"testing"
	"time"
)

// testKeys are generated once per test binary: RSA keys are slow to make under -race.
var testKeys = sync.OnceValue(func() map[string]crypto.Signer {
	keys := map[string]crypto.Signer{}
	var err error
	if keys["rsa"], err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if keys["rsa1024"], err = rsa.GenerateKey(rand.Reader, 1024); err != nil {
		panic(err)
	}
	for name, curve := range map[string]elliptic.Curve{"p224": elliptic.P224(), "p256": elliptic.P256(), "p384": elliptic.P384(), "p521": elliptic.P521()} {
		if keys[name], err = ecdsa.GenerateKey(curve, rand.Reader); err != nil {
			panic(err)
		}
	}
	if _, keys["ed25519"], err = ed25519.GenerateKey(rand.Reader); err != nil {
		panic(err)
	}
	return keys
})

func encode(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func pkcs8(k crypto.Signer) []byte {
	return encode("PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(k)))
}

func publicPEM(k crypto.Signer) []byte {
	return encode("PUBLIC KEY", must(x509.MarshalPKIXPublicKey(k.Public())))
}

// sec1 is an EC key as `openssl ecparam -genkey` writes it: EC PARAMETERS, then EC PRIVATE KEY.
func sec1(k *ecdsa.PrivateKey, withParams bool) []byte {
	out := encode("EC PRIVATE KEY", must(x509.MarshalECPrivateKey(k)))
	if withParams {
		p256 := asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
		out = append(encode("EC PARAMETERS", must(asn1.Marshal(p256))), out...)
	}
	return out
}

func certificate(k crypto.Signer) []byte {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "verdict test"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<31, 0),
	}
	return encode("CERTIFICATE", must(x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)))
}

func TestParsePrivate(t *testing.T) {
	keys := testKeys()
	rsaKey := keys["rsa"].(*rsa.PrivateKey)
	legacyEncrypted := pem.EncodeToMemory(&pem.Block{
		Type:    "RSA PRIVATE KEY",
		Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00000000000000000000000000000000"},
		Bytes:   []byte("ciphertext"),
	})
	tests := []struct {
		name    string
		pem     []byte
		wantAlg string
		wantErr error
	}{
		{name: "rsa pkcs8", pem: pkcs8(rsaKey), wantAlg: "RS256"},
		{name: "rsa pkcs1", pem: encode("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)), wantAlg: "RS256"},
		{name: "p-256 pkcs8", pem: pkcs8(keys["p256"]), wantAlg: "ES256"},
		{name: "p-256 sec1", pem: sec1(keys["p256"].(*ecdsa.PrivateKey), false), wantAlg: "ES256"},
		{name: "p-256 sec1 after EC PARAMETERS", pem: sec1(keys["p256"].(*ecdsa.PrivateKey), true), wantAlg: "ES256"},
		{name: "p-384", pem: pkcs8(keys["p384"]), wantAlg: "ES384"},
		{name: "p-521", pem: pkcs8(keys["p521"]), wantAlg: "ES512"},
		{name: "ed25519", pem: pkcs8(keys["ed25519"]), wantAlg: "EdDSA"},
		{name: "rsa under 2048 bits", pem: pkcs8(keys["rsa1024"]), wantErr: ErrWeakKey},
		{name: "p-224", pem: sec1(keys["p224"].(*ecdsa.PrivateKey), false), wantErr: ErrUnsupportedKey},
		{name: "public key", pem: publicPEM(rsaKey), wantErr: ErrUnsupportedBlock},
		{name: "certificate", pem: certificate(keys["p256"]), wantErr: ErrUnsupportedBlock},
		{name: "encrypted pkcs8", pem: encode("ENCRYPTED PRIVATE KEY", []byte("ciphertext")), wantErr: ErrEncrypted},
		{name: "encrypted legacy PEM", pem: legacyEncrypted, wantErr: ErrEncrypted},
		{name: "garbage in a pem block", pem: encode("PRIVATE KEY", []byte("x")), wantErr: ErrMalformed},
		{name: "only EC PARAMETERS", pem: encode("EC PARAMETERS", []byte{6, 0}), wantErr: ErrNoKey},
		{name: "not pem", pem: []byte("not a key"), wantErr: ErrNoKey},
		{name: "empty", wantErr: ErrNoKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := ParsePrivate(tt.pem)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if alg, err := Algorithm(key.Public()); err != nil || alg != tt.wantAlg {
				t.Errorf("Algorithm() = %q, %v, want %q", alg, err, tt.wantAlg)
			}
		})
	}
}

func TestParsePublic(t *testing.T) {
	keys := testKeys()
	rsaKey := keys["rsa"].(*rsa.PrivateKey)
	tests := []struct {
		name      string
		pem       []byte
		wantAlgs  []string // the default algorithm of each key ParsePublicKeys returns
		wantErr   error
		firstOnly bool // ParsePublic succeeds with the first key, ParsePublicKeys fails
	}{
		{name: "rsa pkix", pem: publicPEM(rsaKey), wantAlgs: []string{"RS256"}},
		{name: "rsa pkcs1", pem: encode("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)), wantAlgs: []string{"RS256"}},
		{name: "p-256", pem: publicPEM(keys["p256"]), wantAlgs: []string{"ES256"}},
		{name: "ed25519", pem: publicPEM(keys["ed25519"]), wantAlgs: []string{"EdDSA"}},
		{name: "certificate", pem: certificate(keys["p384"]), wantAlgs: []string{"ES384"}},
		{name: "several keys", pem: slices.Concat(publicPEM(rsaKey), publicPEM(keys["ed25519"]), certificate(keys["p256"])), wantAlgs: []string{"RS256", "EdDSA", "ES256"}},
		{name: "a key, then garbage", pem: slices.Concat(publicPEM(keys["p256"]), encode("PUBLIC KEY", []byte("x"))), wantAlgs: []string{"ES256"}, wantErr: ErrMalformed, firstOnly: true},
		{name: "rsa under 2048 bits", pem: publicPEM(keys["rsa1024"]), wantErr: ErrWeakKey},
		{name: "p-224", pem: publicPEM(keys["p224"]), wantErr: ErrUnsupportedKey},
		{name: "pkcs8 private key", pem: pkcs8(rsaKey), wantErr: ErrPrivateKey},
		{name: "pkcs1 private key", pem: encode("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)), wantErr: ErrPrivateKey},
		{name: "sec1 private key", pem: sec1(keys["p256"].(*ecdsa.PrivateKey), true), wantErr: ErrPrivateKey},
		{name: "certificate request", pem: encode("CERTIFICATE REQUEST", []byte("x")), wantErr: ErrUnsupportedBlock},
		{name: "garbage in a pem block", pem: encode("PUBLIC KEY", []byte("x")), wantErr: ErrMalformed},
		{name: "not pem", pem: []byte("not a key"), wantErr: ErrNoKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pubs, err := ParsePublicKeys(tt.pem)
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("ParsePublicKeys error = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if got := algorithms(t, pubs); !slices.Equal(got, tt.wantAlgs) {
					t.Errorf("ParsePublicKeys algorithms = %v, want %v", got, tt.wantAlgs)
				}
			}
			pub, err := ParsePublic(tt.pem)
			if tt.wantErr != nil && !tt.firstOnly {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ParsePublic error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := algorithms(t, []crypto.PublicKey{pub}); got[0] != tt.wantAlgs[0] {
				t.Errorf("ParsePublic algorithm = %v, want %v", got[0], tt.wantAlgs[0])
			}
		})
	}
}

func algorithms(t *testing.T, pubs []crypto.PublicKey) []string {
	t.Helper()
	var out []string
	for _, pub := range pubs {
		alg, err := Algorithm(pub)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, alg)
	}
	return out
}

func TestAlgorithms(t *testing.T) {
	keys := testKeys()
	tests := []struct {
		name    string
		pub     crypto.PublicKey
		want    []string
		wantErr error
	}{
		{name: "rsa", pub: keys["rsa"].Public(), want: []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}},
		{name: "p-256", pub: keys["p256"].Public(), want: []string{"ES256"}},
		{name: "p-384", pub: keys["p384"].Public(), want: []string{"ES384"}},
		{name: "p-521", pub: keys["p521"].Public(), want: []string{"ES512"}},
		{name: "ed25519", pub: keys["ed25519"].Public(), want: []string{"EdDSA"}},
		{name: "rsa under 2048 bits", pub: keys["rsa1024"].Public(), wantErr: ErrWeakKey},
		{name: "rsa without modulus", pub: &rsa.PublicKey{E: 65537}, wantErr: ErrMalformed},
		{name: "short ed25519", pub: ed25519.PublicKey{1, 2, 3}, wantErr: ErrMalformed},
		{name: "p-224", pub: keys["p224"].Public(), wantErr: ErrUnsupportedKey},
		{name: "ecdsa without curve", pub: &ecdsa.PublicKey{}, wantErr: ErrUnsupportedKey},
		{name: "private key", pub: keys["ed25519"], wantErr: ErrUnsupportedKey},
		{name: "hmac secret", pub: []byte("secret"), wantErr: ErrUnsupportedKey},
		{name: "nil", wantErr: ErrUnsupportedKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Algorithms(tt.pub)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("Algorithms() = %v, %v, want %v", got, err, tt.want)
			}
			// Callers narrow the slice in place: the next call must not see it.
			got[0] = "changed"
			if again, _ := Algorithms(tt.pub); again[0] != tt.want[0] {
				t.Errorf("second call = %v: the slice is shared", again)
			}
		})
	}
}

func TestTypeName(t *testing.T) {
	keys := testKeys()
	tests := []struct {
		name string
		pub  crypto.PublicKey
		want string
	}{
		{name: "rsa", pub: keys["rsa"].Public(), want: "RSA"},
		{name: "ecdsa", pub: keys["p256"].Public(), want: "ECDSA"},
		{name: "ed25519", pub: keys["ed25519"].Public(), want: "Ed25519"},
		{name: "other", pub: []byte("secret"), want: "[]uint8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TypeName(tt.pub); got != tt.want {
				t.Errorf("TypeName() = %q, want %q", got, tt.want)
			}
		})
	}
}

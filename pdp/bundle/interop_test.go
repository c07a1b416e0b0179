package bundle_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	opabundle "github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/compile"

	"github.com/verdict-pdp/verdict/pdp/bundle"
)

// keyPair is a PEM key pair written to files, as the CLIs take them.
type keyPair struct {
	privPath, pubPath string
	priv, pub         []byte
}

func newKeyPair(t *testing.T, alg string) keyPair {
	t.Helper()
	var (
		k   crypto.Signer
		err error
	)
	switch alg {
	case "RS256":
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "EdDSA":
		_, k, err = ed25519.GenerateKey(rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	kp := keyPair{
		priv: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		pub:  pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}),
	}
	dir := t.TempDir()
	kp.privPath, kp.pubPath = filepath.Join(dir, "key.pem"), filepath.Join(dir, "key.pub.pem")
	if err := os.WriteFile(kp.privPath, kp.priv, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kp.pubPath, kp.pub, 0o600); err != nil {
		t.Fatal(err)
	}
	return kp
}

// opaBuild builds and signs dir exactly as `opa build --bundle dir --signing-key KEY
// --signing-alg ALG [--claims-file FILE] --revision REV` does (OPA's cmd/build.go drives the
// same compile.Compiler this way).
func opaBuild(t *testing.T, dir string, kp keyPair, alg, claimsFile string) []byte {
	t.Helper()
	var buf bytes.Buffer
	c := compile.New().
		WithAsBundle(true).
		WithRegoAnnotationEntrypoints(true).
		WithPaths(dir).
		WithOutput(&buf).
		WithRegoVersion(ast.RegoV1).
		WithRevision("opa-built").
		WithBundleSigningConfig(opabundle.NewSigningConfig(kp.privPath, alg, claimsFile))
	if claimsFile == "" {
		c = c.WithBundleVerificationKeyID("default")
	}
	if err := c.Build(context.Background()); err != nil {
		t.Fatalf("opa build: %v", err)
	}
	return buf.Bytes()
}

// opaRead reads raw as `opa run --verification-key PUB --verification-key-id default
// [--scope S]` does: OPA's bundle reader with a verification config.
func opaRead(raw []byte, kp keyPair, alg, scope string) (opabundle.Bundle, error) {
	vc := opabundle.NewVerificationConfig(map[string]*opabundle.KeyConfig{
		"default": {Key: string(kp.pub), Algorithm: alg},
	}, "default", scope, nil)
	return opabundle.NewReader(bytes.NewReader(raw)).
		WithRegoVersion(ast.RegoV1).
		WithBundleVerificationConfig(vc).
		Read()
}

// tamper rewrites the archive with the content of the file named name (or .../name) replaced.
func tamper(t *testing.T, raw []byte, name, body string) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	tw := tar.NewWriter(zw)
	found := false
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		// opa build names modules by the path it read them from (testdata/basic/authz.rego).
		if n := strings.TrimPrefix(hdr.Name, "/"); n == name || strings.HasSuffix(n, "/"+name) {
			data, found = []byte(body), true
		}
		hdr.Size = int64(len(data))
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if !found {
		t.Fatalf("no %s in the archive", name)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

const tamperedRego = "package example.authz\n\nallow := true\n"

// TestOPASignedBundleVerifies: a bundle signed by OPA's own build path is accepted by Verdict's
// verifier, and refused once a file changes.
func TestOPASignedBundleVerifies(t *testing.T) {
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			kp := newKeyPair(t, alg)
			raw := opaBuild(t, filepath.Join("testdata", "basic"), kp, alg, "")
			v, err := bundle.NewVerifier(map[string][]byte{bundle.DefaultKeyID: kp.pub}, bundle.DefaultKeyID, "")
			if err != nil {
				t.Fatal(err)
			}
			b, err := bundle.Parse(raw, bundle.ReadOptions{MaxBytes: 1 << 20, Verifier: v})
			if err != nil {
				t.Fatalf("Verdict refused an OPA-signed bundle: %v", err)
			}
			if b.Manifest.Revision != "opa-built" || len(b.Modules) != 2 {
				t.Errorf("revision %q, %d modules", b.Manifest.Revision, len(b.Modules))
			}
			_, err = bundle.Parse(tamper(t, raw, "authz.rego", tamperedRego), bundle.ReadOptions{MaxBytes: 1 << 20, Verifier: v})
			if !errors.Is(err, bundle.ErrBadSignature) {
				t.Errorf("tampered OPA bundle: error = %v, want ErrBadSignature", err)
			}
		})
	}
}

// TestOPASignedBundleWithScopeClaims: `opa build --claims-file` writes the scope claim and no key
// id; Verdict checks such a signature against its default key and the configured scope.
func TestOPASignedBundleWithScopeClaims(t *testing.T) {
	kp := newKeyPair(t, "ES256")
	claims := filepath.Join(t.TempDir(), "claims.json")
	if err := os.WriteFile(claims, []byte(`{"scope": "prod"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	raw := opaBuild(t, filepath.Join("testdata", "basic"), kp, "ES256", claims)
	for _, tt := range []struct {
		scope   string
		wantErr error
	}{{scope: "prod"}, {scope: "staging", wantErr: bundle.ErrBadSignature}} {
		v, err := bundle.NewVerifier(map[string][]byte{bundle.DefaultKeyID: kp.pub}, bundle.DefaultKeyID, tt.scope)
		if err != nil {
			t.Fatal(err)
		}
		_, err = bundle.Parse(raw, bundle.ReadOptions{MaxBytes: 1 << 20, Verifier: v})
		if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
			t.Errorf("scope %s: error = %v, want %v", tt.scope, err, tt.wantErr)
		}
	}
}

// TestVerdictSignedBundleVerifiesInOPA: a bundle built and signed by Verdict (verdict bundle
// build --signing-key, and verdict bundle sign) is accepted by OPA's bundle reader with the
// public key, and refused by it once a file changes.
func TestVerdictSignedBundleVerifiesInOPA(t *testing.T) {
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			kp := newKeyPair(t, alg)
			raw, err := bundle.Build([]string{filepath.Join("testdata", "basic")}, bundle.BuildOptions{
				MaxBytes: 1 << 20, Revision: "verdict-built", Sign: &bundle.SignOptions{Key: kp.priv, Scope: "prod"},
			})
			if err != nil {
				t.Fatal(err)
			}
			b, err := opaRead(raw, kp, alg, "prod")
			if err != nil {
				t.Fatalf("OPA refused a Verdict-signed bundle: %v", err)
			}
			if b.Manifest.Revision != "verdict-built" || len(b.Modules) != 2 {
				t.Errorf("revision %q, %d modules", b.Manifest.Revision, len(b.Modules))
			}
			if _, err := opaRead(tamper(t, raw, "authz.rego", tamperedRego), kp, alg, "prod"); err == nil {
				t.Error("OPA accepted a tampered Verdict-signed bundle")
			}
			if _, err := opaRead(raw, kp, alg, "staging"); err == nil {
				t.Error("OPA accepted a Verdict-signed bundle with the wrong scope")
			}
		})
	}
}

// TestVerdictResignsOPABundle: `verdict bundle sign` over an archive `opa build` wrote (without
// a signature) gives one OPA accepts.
func TestVerdictResignsOPABundle(t *testing.T) {
	kp := newKeyPair(t, "RS256")
	var buf bytes.Buffer
	err := compile.New().WithAsBundle(true).WithPaths(filepath.Join("testdata", "basic")).
		WithOutput(&buf).WithRegoVersion(ast.RegoV1).Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := bundle.Sign(buf.Bytes(), 1<<20, bundle.SignOptions{Key: kp.priv})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := opaRead(raw, kp, "RS256", ""); err != nil {
		t.Fatalf("OPA refused: %v", err)
	}
}

// Package pemkey reads the PEM key files Verdict signs and verifies with, and says which JWS
// algorithms a key can be used with. It serves the bundle package (bundle signing keys and
// verification keys) and the token package (the minting key and issuers' public_keys), so
// both accept the same encodings and refuse the same keys: RSA under MinRSABits, curves other
// than P-256, P-384 and P-521, encrypted keys, and private keys where a public key belongs.
//
// Each caller wraps these errors in its own sentinels (bundle.ErrBadKey, the token package's
// refused-key error); this package only parses and classifies.
package pemkey

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// MinRSABits is the smallest RSA modulus accepted for signing or verifying (RFC 8725 §3.5,
// NIST SP 800-131A).
const MinRSABits = 2048

var (
	// ErrNoKey means the input holds no PEM block with a key of the kind asked for.
	ErrNoKey = errors.New("no PEM key found")
	// ErrUnsupportedBlock means a PEM block of a type that does not hold the kind of key asked
	// for (a public key where a private key is needed, a CSR, ...).
	ErrUnsupportedBlock = errors.New("unsupported PEM block")
	// ErrMalformed means a PEM block of a key type whose contents do not parse.
	ErrMalformed = errors.New("malformed key")
	// ErrEncrypted means an encrypted private key: Verdict does not take passphrases.
	ErrEncrypted = errors.New("encrypted private keys are not supported")
	// ErrPrivateKey means private key material where a public key belongs.
	ErrPrivateKey = errors.New("a private key where a public key belongs")
	// ErrUnsupportedKey means a key type or curve no supported JWS algorithm uses.
	ErrUnsupportedKey = errors.New("unsupported key")
	// ErrWeakKey means an RSA key with fewer than MinRSABits bits.
	ErrWeakKey = errors.New("RSA key too small")
)

// privateBlocks are the PEM block types that carry private key material.
var privateBlocks = []string{"PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY"}

// ParsePrivate reads the first private key in data: PKCS#8 "PRIVATE KEY" (RSA, ECDSA, Ed25519),
// PKCS#1 "RSA PRIVATE KEY" or SEC 1 "EC PRIVATE KEY". An "EC PARAMETERS" block before it (as
// `openssl ecparam -genkey` writes) is skipped. The key must fit a JWS algorithm (Algorithms).
func ParsePrivate(data []byte) (crypto.Signer, error) {
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		if block.Type == "EC PARAMETERS" {
			continue
		}
		key, err := privateFromBlock(block)
		if err != nil {
			return nil, err
		}
		if _, err := Algorithms(key.Public()); err != nil {
			return nil, err
		}
		return key, nil
	}
	return nil, fmt.Errorf("%w: no PEM private key found", ErrNoKey)
}

func privateFromBlock(block *pem.Block) (crypto.Signer, error) {
	if strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
		return nil, ErrEncrypted
	}
	var (
		key any
		err error
	)
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "ENCRYPTED PRIVATE KEY":
		return nil, ErrEncrypted
	default:
		return nil, fmt.Errorf("%w %q where a private key belongs", ErrUnsupportedBlock, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMalformed, block.Type, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: private key type %T", ErrUnsupportedKey, key)
	}
	return signer, nil
}

// ParsePublic reads the first public key in data: PKIX "PUBLIC KEY", PKCS#1 "RSA PUBLIC KEY"
// or a "CERTIFICATE" (only its key is used; validity is not checked). The key must fit a JWS
// algorithm (Algorithms). Blocks after the first key are not read.
func ParsePublic(data []byte) (crypto.PublicKey, error) {
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		if pub, err := publicFromBlock(block); pub != nil || err != nil {
			return pub, err
		}
	}
	return nil, fmt.Errorf("%w: no PEM public key found", ErrNoKey)
}

// ParsePublicKeys reads every public key in data, as ParsePublic reads the first: a file may
// hold several keys or a certificate chain. Any block that is not a usable public key fails
// the whole file.
func ParsePublicKeys(data []byte) ([]crypto.PublicKey, error) {
	var keys []crypto.PublicKey
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		pub, err := publicFromBlock(block)
		if err != nil {
			return nil, err
		}
		if pub != nil {
			keys = append(keys, pub)
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no PEM public key found", ErrNoKey)
	}
	return keys, nil
}

// publicFromBlock parses one PEM block; nil, nil means a block to skip.
func publicFromBlock(block *pem.Block) (crypto.PublicKey, error) {
	var (
		key any
		err error
	)
	switch block.Type {
	case "EC PARAMETERS":
		return nil, nil
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			key = cert.PublicKey
		}
	default:
		if slices.Contains(privateBlocks, block.Type) {
			return nil, ErrPrivateKey
		}
		return nil, fmt.Errorf("%w %q where a public key or certificate belongs", ErrUnsupportedBlock, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMalformed, block.Type, err)
	}
	if _, err := Algorithms(key); err != nil {
		return nil, err
	}
	return key, nil
}

// Algorithm returns the JWS algorithm a key signs with by default: RS256 for RSA, ES256, ES384
// or ES512 by curve for ECDSA, EdDSA for Ed25519. It is the first of Algorithms.
func Algorithm(pub crypto.PublicKey) (string, error) {
	algs, err := Algorithms(pub)
	if err != nil {
		return "", err
	}
	return algs[0], nil
}

// Algorithms returns the JWS algorithms pub can be used with, the default first: RS256, RS384,
// RS512, PS256, PS384 and PS512 for RSA of at least MinRSABits bits; for ECDSA only the one
// its curve fixes (ES256 for P-256, ES384 for P-384, ES512 for P-521), so a token cannot pick
// a weaker hash than the key was made for; EdDSA for Ed25519. HMAC is never among them: a
// shared secret on every replica would be a signing key on every replica. The slice is new on
// every call; callers may narrow it in place.
func Algorithms(pub crypto.PublicKey) ([]string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N == nil {
			return nil, fmt.Errorf("%w: RSA key without modulus", ErrMalformed)
		}
		if bits := k.N.BitLen(); bits < MinRSABits {
			return nil, fmt.Errorf("%w: %d bits, at least %d required", ErrWeakKey, bits, MinRSABits)
		}
		return []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}, nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return []string{"ES256"}, nil
		case elliptic.P384():
			return []string{"ES384"}, nil
		case elliptic.P521():
			return []string{"ES512"}, nil
		}
		return nil, fmt.Errorf("%w: ECDSA curve %s", ErrUnsupportedKey, curveName(k))
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: Ed25519 key of %d bytes", ErrMalformed, len(k))
		}
		return []string{"EdDSA"}, nil
	}
	return nil, fmt.Errorf("%w: key type %T", ErrUnsupportedKey, pub)
}

// TypeName names pub's key type for messages: RSA, ECDSA, Ed25519, or its Go type.
func TypeName(pub crypto.PublicKey) string {
	switch pub.(type) {
	case *rsa.PublicKey:
		return "RSA"
	case *ecdsa.PublicKey:
		return "ECDSA"
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return fmt.Sprintf("%T", pub)
}

func curveName(k *ecdsa.PublicKey) string {
	if k.Curve == nil || k.Curve.Params() == nil {
		return "(none)"
	}
	return k.Curve.Params().Name
}

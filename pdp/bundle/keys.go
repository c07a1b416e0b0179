package bundle

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
)

// ErrBadKey means a signing or verification key cannot be used: not PEM, an unsupported type,
// an RSA key under 2048 bits, or an algorithm that does not fit the key.
var ErrBadKey = errors.New("unusable bundle key")

// minRSABits is the smallest RSA key accepted for signing or verifying bundles.
const minRSABits = 2048

// parsePrivateKey reads a PEM private key: PKCS#8 (RSA, EC, Ed25519), PKCS#1 RSA or SEC 1 EC.
func parsePrivateKey(pemBytes []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block found", ErrBadKey)
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
	default:
		return nil, fmt.Errorf("%w: PEM block %q is not a private key", ErrBadKey, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadKey, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: unsupported private key type %T", ErrBadKey, key)
	}
	if _, err := algorithmFor(signer.Public(), ""); err != nil {
		return nil, err
	}
	return signer, nil
}

// parsePublicKey reads a PEM public key (PKIX or PKCS#1 RSA) or certificate.
func parsePublicKey(pemBytes []byte) (crypto.PublicKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block found", ErrBadKey)
	}
	var (
		key any
		err error
	)
	switch block.Type {
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
		return nil, fmt.Errorf("%w: PEM block %q is not a public key or certificate", ErrBadKey, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadKey, err)
	}
	if _, err := algorithmFor(key, ""); err != nil {
		return nil, err
	}
	return key, nil
}

// algorithmFor returns the JWS algorithm to use with pub: want when it fits the key, the key's
// usual algorithm when want is empty (RS256 for RSA, ES256/384/512 by curve, EdDSA for
// Ed25519), and ErrBadKey otherwise. HMAC is never an option: a shared secret on every
// replica would be a signing key on every replica. The curve fixes an EC key's algorithm, so a token cannot
// pick a weaker one than the key was made for.
func algorithmFor(pub crypto.PublicKey, want string) (string, error) {
	var fits []string
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return "", fmt.Errorf("%w: RSA key has %d bits, fewer than %d", ErrBadKey, k.N.BitLen(), minRSABits)
		}
		fits = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			fits = []string{"ES256"}
		case elliptic.P384():
			fits = []string{"ES384"}
		case elliptic.P521():
			fits = []string{"ES512"}
		default:
			return "", fmt.Errorf("%w: unsupported EC curve %s", ErrBadKey, k.Curve.Params().Name)
		}
	case ed25519.PublicKey:
		fits = []string{"EdDSA"}
	default:
		return "", fmt.Errorf("%w: unsupported key type %T", ErrBadKey, pub)
	}
	if want == "" {
		return fits[0], nil
	}
	for _, alg := range fits {
		if alg == want {
			return alg, nil
		}
	}
	return "", fmt.Errorf("%w: algorithm %q does not fit a %s key", ErrBadKey, want, keyKind(pub))
}

func keyKind(pub crypto.PublicKey) string {
	switch pub.(type) {
	case *rsa.PublicKey:
		return "RSA"
	case *ecdsa.PublicKey:
		return "EC"
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return fmt.Sprintf("%T", pub)
}

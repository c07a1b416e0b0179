package token

import (
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/verdict-pdp/verdict/pdp/pemkey"
)

// DefaultClientID is the client_id of minted tokens whose claims name none.
const DefaultClientID = "verdict-cli"

// mintRequired are the claims Mint refuses to sign without: no verifier would accept the token.
var mintRequired = []string{"iss", "aud", "exp"}

// Mint signs an RFC 9068 access token with key: header typ at+jwt and kid (the key's RFC 7638
// thumbprint when kid is empty); claims as given, which must include iss, aud and exp, plus iat
// (now), jti (random) and client_id (DefaultClientID) when absent. Times are Unix seconds;
// time.Time values of exp, iat, nbf and auth_time are converted. The algorithm follows the key:
// RSA (2048 bits or more) → RS256, ECDSA P-256/P-384/P-521 → ES256/ES384/ES512, Ed25519 → EdDSA.
func Mint(key crypto.Signer, kid string, claims map[string]any) (string, error) {
	return MintWithType(key, kid, "at+jwt", claims)
}

// MintWithType is Mint with header typ set to typ instead of at+jwt, or left out when typ is
// empty, to imitate IdPs that send typ JWT or none.
func MintWithType(key crypto.Signer, kid, typ string, claims map[string]any) (string, error) {
	method, err := signingMethodFor(key)
	if err != nil {
		return "", fmt.Errorf("mint: %w", err)
	}
	for _, name := range mintRequired {
		if _, ok := claims[name]; !ok {
			return "", fmt.Errorf("mint: claim %s is required", name)
		}
	}
	if kid == "" {
		if kid, err = Thumbprint(key.Public()); err != nil {
			return "", fmt.Errorf("mint: %w", err)
		}
	}
	c := jwt.MapClaims(maps.Clone(claims))
	for _, name := range []string{"exp", "iat", "nbf", "auth_time"} {
		if t, ok := c[name].(time.Time); ok {
			c[name] = t.Unix()
		}
	}
	if _, ok := c["iat"]; !ok {
		c["iat"] = time.Now().Unix()
	}
	if _, ok := c["client_id"]; !ok {
		c["client_id"] = DefaultClientID
	}
	if _, ok := c["jti"]; !ok {
		if c["jti"], err = randomID(); err != nil {
			return "", fmt.Errorf("mint: %w", err)
		}
	}
	t := jwt.NewWithClaims(method, c)
	if typ == "" {
		delete(t.Header, "typ")
	} else {
		t.Header["typ"] = typ
	}
	t.Header["kid"] = kid
	signed, err := t.SignedString(key)
	if err != nil {
		return "", fmt.Errorf("mint: %w", err)
	}
	return signed, nil
}

// signingMethodFor picks the JWS algorithm for a private key, as pemkey.Algorithm says.
func signingMethodFor(key crypto.Signer) (jwt.SigningMethod, error) {
	if key == nil {
		return nil, errors.New("no signing key")
	}
	alg, err := pemkey.Algorithm(key.Public())
	if err != nil {
		return nil, err
	}
	return jwt.GetSigningMethod(alg), nil
}

// randomID returns 128 random bits, base64url encoded, for jti.
func randomID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// LoadSigningKey reads a PEM private key file for Mint: PKCS#8 "PRIVATE KEY", PKCS#1 "RSA
// PRIVATE KEY" or SEC 1 "EC PRIVATE KEY" (an "EC PARAMETERS" block before it is skipped).
// Encrypted PEM is not supported. pemkey.ParsePrivate decides what is accepted.
func LoadSigningKey(path string) (crypto.Signer, error) {
	data, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	key, err := pemkey.ParsePrivate(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return key, nil
}

package bundle

import (
	"crypto"
	"errors"
	"fmt"
	"slices"

	"github.com/verdict-pdp/verdict/pdp/pemkey"
)

// ErrBadKey means a signing or verification key cannot be used: not PEM, an unsupported type,
// an RSA key under 2048 bits, or an algorithm that does not fit the key.
var ErrBadKey = errors.New("unusable bundle key")

// algorithmFor returns the JWS algorithm to use with pub: want when it fits the key, the key's
// usual algorithm when want is empty (RS256 for RSA, ES256/384/512 by curve, EdDSA for
// Ed25519), and ErrBadKey otherwise. pemkey.Algorithms decides what fits: never HMAC, and for
// an EC key only the algorithm its curve fixes.
func algorithmFor(pub crypto.PublicKey, want string) (string, error) {
	fits, err := pemkey.Algorithms(pub)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadKey, err)
	}
	if want == "" {
		return fits[0], nil
	}
	if !slices.Contains(fits, want) {
		return "", fmt.Errorf("%w: algorithm %q does not fit a %s key", ErrBadKey, want, pemkey.TypeName(pub))
	}
	return want, nil
}

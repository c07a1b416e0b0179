package token

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sort"

	"github.com/verdict-pdp/verdict/pdp/pemkey"
)

// maxRSABits bounds the RSA modulus of verification keys (pemkey.MinRSABits is the floor): 8192,
// the bound Go's TLS stack uses, so a key set cannot make every verification expensive.
const maxRSABits = 8192

// errKeyRefused marks a key that must not be loaded at all; loading the whole set fails.
var errKeyRefused = errors.New("key refused")

// verifyKey is one public key bound to the algorithms it may verify. Binding happens at load:
// an RSA key verifies only RS*/PS*, a P-256 key only ES256, an Ed25519 key only EdDSA, further
// narrowed by the JWK's alg and the issuer's allow-list.
type verifyKey struct {
	// kid is the key's id: the JWK kid, or the RFC 7638 thumbprint when it declares none.
	kid string
	// declaredKID is false for keys that came without an id (PEM files, JWKs without kid).
	declaredKID bool
	pub         crypto.PublicKey
	algs        []string
}

// allows reports whether the key may verify a signature made with alg.
func (k *verifyKey) allows(alg string) bool { return slices.Contains(k.algs, alg) }

// keySet is an immutable set of an issuer's verification keys, indexed by kid. kid is only ever
// used as a map key.
type keySet struct {
	byKID map[string]*verifyKey
	// only is the key when the set holds exactly one, the one a token without kid may use.
	only *verifyKey
}

// newKeySet indexes keys by kid, refusing duplicate ids (which key would a token mean?).
func newKeySet(keys []*verifyKey) (*keySet, error) {
	if len(keys) == 0 {
		return nil, errors.New("no usable keys")
	}
	ks := &keySet{byKID: make(map[string]*verifyKey, len(keys))}
	for _, k := range keys {
		if _, dup := ks.byKID[k.kid]; dup {
			return nil, fmt.Errorf("key id %q appears twice", k.kid)
		}
		ks.byKID[k.kid] = k
	}
	if len(keys) == 1 {
		ks.only = keys[0]
	}
	return ks, nil
}

// lookup selects the key for a token. A token naming a kid gets that key; a token without kid
// gets the set's only key, and a set of several keys requires a kid. A lone key that came without
// an id of its own (a PEM file) accepts any kid, since the issuer's ids cannot be known.
func (ks *keySet) lookup(kid string, hasKID bool) (*verifyKey, error) {
	if hasKID {
		if k, ok := ks.byKID[kid]; ok {
			return k, nil
		}
		if ks.only != nil && !ks.only.declaredKID {
			return ks.only, nil
		}
		return nil, ErrUnknownKey
	}
	if ks.only != nil {
		return ks.only, nil
	}
	return nil, fmt.Errorf("%w: token names no kid and the issuer has %d keys", ErrUnknownKey, len(ks.byKID))
}

// knows reports whether lookup finds a key for a token naming kid.
func (ks *keySet) knows(kid string) bool {
	_, ok := ks.byKID[kid]
	return ok || (ks.only != nil && !ks.only.declaredKID)
}

// missingFrom returns the ids of ks's keys that next lacks, sorted; none when ks is nil. A key
// whose id stays but whose material changed counts as missing.
func (ks *keySet) missingFrom(next *keySet) []string {
	if ks == nil {
		return nil
	}
	var out []string
	for id, k := range ks.byKID {
		if n, ok := next.byKID[id]; !ok || !publicKeyEqual(k.pub, n.pub) {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// publicKeyEqual compares two public keys of the types algorithmsFor accepts.
func publicKeyEqual(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}

// ids returns the key ids, sorted, for status reports.
func (ks *keySet) ids() []string {
	out := make([]string, 0, len(ks.byKID))
	for id := range ks.byKID {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// keySource supplies an issuer's current key set. Static sources (jwks_file, public_keys) return
// the same set forever; a remote source (remoteKeys) refreshes behind this method and returns an
// error wrapping ErrUnavailable when it has no usable keys. kid is the key id the token asks
// for, so a remote source can refresh on a miss.
type keySource interface {
	keys(ctx context.Context, kid string) (*keySet, error)
	// current returns the set in hand without fetching, nil when there is none yet.
	current() *keySet
	// kind names the source for status reports: jwks_file, public_keys, jwks_url or discovery.
	kind() string
	// describe adds what the source knows beyond its keys (fetch state) to a status report.
	describe(st *IssuerStats)
}

// staticKeys is a key set loaded once from files.
type staticKeys struct {
	set    *keySet
	source string
}

func (s *staticKeys) keys(context.Context, string) (*keySet, error) { return s.set, nil }
func (s *staticKeys) current() *keySet                              { return s.set }
func (s *staticKeys) kind() string                                  { return s.source }
func (s *staticKeys) describe(*IssuerStats)                         {}

// algorithmsFor returns the JWS algorithms a public key can verify, or an error wrapping
// errKeyRefused for keys that must never be used. pemkey.Algorithms refuses RSA under 2048 bits
// and unsupported types and curves; verification adds an upper bound on RSA size and a sane
// public exponent, since these keys come from outside.
func algorithmsFor(pub crypto.PublicKey) ([]string, error) {
	algs, err := pemkey.Algorithms(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errKeyRefused, err)
	}
	if k, ok := pub.(*rsa.PublicKey); ok {
		if bits := k.N.BitLen(); bits > maxRSABits {
			return nil, fmt.Errorf("%w: RSA key of %d bits, at most %d allowed", errKeyRefused, bits, maxRSABits)
		}
		if k.E < 3 || k.E%2 == 0 {
			return nil, fmt.Errorf("%w: RSA public exponent %d", errKeyRefused, k.E)
		}
	}
	return algs, nil
}

// bindKey builds a verifyKey: the key's own algorithms, narrowed to jwkAlg when the JWK names
// one and to the issuer's allow-list. A JWK alg that does not fit the key is refused; a key the
// allow-list leaves no algorithm for is returned with no algorithms, for the caller to skip.
func bindKey(pub crypto.PublicKey, kid, jwkAlg string, allowed []string) (*verifyKey, error) {
	algs, err := algorithmsFor(pub)
	if err != nil {
		return nil, err
	}
	if jwkAlg == "Ed25519" { // RFC 9864's fully specified name for EdDSA with Ed25519
		jwkAlg = "EdDSA"
	}
	if jwkAlg != "" {
		if !slices.Contains(algs, jwkAlg) {
			return nil, fmt.Errorf("%w: alg %q does not fit the %s key", errKeyRefused, jwkAlg, pemkey.TypeName(pub))
		}
		algs = []string{jwkAlg}
	}
	algs = slices.DeleteFunc(algs, func(a string) bool { return !slices.Contains(allowed, a) })
	k := &verifyKey{kid: kid, declaredKID: kid != "", pub: pub, algs: algs}
	if kid == "" {
		if k.kid, err = Thumbprint(pub); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// Thumbprint returns the RFC 7638 JWK thumbprint (SHA-256, base64url) of an RSA, ECDSA or
// Ed25519 public key. Verdict uses it as the kid of keys that come without one (PEM files, the
// development key), so a minted token and a configured key agree on the id.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	b64 := base64.RawURLEncoding.EncodeToString
	var members any
	switch k := pub.(type) {
	case *rsa.PublicKey:
		members = struct {
			E   string `json:"e"`
			Kty string `json:"kty"`
			N   string `json:"n"`
		}{b64(big.NewInt(int64(k.E)).Bytes()), "RSA", b64(k.N.Bytes())}
	case *ecdsa.PublicKey:
		point, err := k.Bytes()
		if err != nil {
			return "", fmt.Errorf("thumbprint: %w", err)
		}
		size := (len(point) - 1) / 2
		members = struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
			Y   string `json:"y"`
		}{k.Curve.Params().Name, "EC", b64(point[1 : 1+size]), b64(point[1+size:])}
	case ed25519.PublicKey:
		members = struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
		}{"Ed25519", "OKP", b64(k)}
	default:
		return "", fmt.Errorf("thumbprint: unsupported key type %T", pub)
	}
	canonical, err := json.Marshal(members)
	if err != nil {
		return "", fmt.Errorf("thumbprint: %w", err)
	}
	sum := sha256.Sum256(canonical)
	return b64(sum[:]), nil
}

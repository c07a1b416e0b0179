package token

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"

	"github.com/MicahParks/jwkset"

	"github.com/verdict-pdp/verdict/pdp/pemkey"
	"github.com/verdict-pdp/verdict/pdp/strictjson"
)

// maxKeyFileBytes caps a jwks_file or PEM file; real key sets are a few kilobytes.
const maxKeyFileBytes = 1 << 20

// signatureAlgs are the JWS algorithms a JWK alg may name for a verification key. Any other alg
// (RSA-OAEP, ECDH-ES, HS256) marks a key that is not for verifying signatures.
var signatureAlgs = []string{
	"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512", "EdDSA", "Ed25519",
}

// loadJWKSFile reads a JWK Set from path and binds each usable key. Keys that are not for us
// (use enc, key_ops without verify, encryption algorithms, X25519, algorithms the issuer does
// not allow) are skipped with a warning; keys that are dangerous or broken (private or symmetric
// members, RSA under 2048 bits, an alg that does not fit the key) fail the whole load: the
// operator wrote this file and can fix it.
func loadJWKSFile(path string, allowed []string, log *slog.Logger) ([]*verifyKey, error) {
	data, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	parsed, err := parseJWKS(data, allowed)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(parsed.refused) > 0 {
		return nil, fmt.Errorf("%s: %w", path, parsed.refused[0])
	}
	for _, skip := range parsed.skipped {
		log.Warn("skipping JWK not usable for verification", "file", path, "index", skip.index, "kid", skip.kid)
	}
	return parsed.keys, nil
}

// parsedJWKS is a JWK Set run through keyFromJWK: the usable keys, the keys skipped as not for
// verification, and the errors of the keys refused by policy.
type parsedJWKS struct {
	keys    []*verifyKey
	skipped []skippedJWK
	refused []error
}

type skippedJWK struct {
	index int
	kid   string
}

// parseJWKS decodes a JWK Set (valid UTF-8, no duplicate members) and applies keyFromJWK to
// every key. Whether a refused key fails the whole set is the caller's decision: a local file
// does, a remote set does not (one bad key published by an IdP must not take every other key
// down with it).
func parseJWKS(data []byte, allowed []string) (*parsedJWKS, error) {
	var set jwkset.JWKSMarshal
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("not a JWK Set: %w", err)
	}
	if err := strictjson.Check(data, nil); err != nil {
		return nil, fmt.Errorf("not a JWK Set: %w", err)
	}
	out := &parsedJWKS{keys: make([]*verifyKey, 0, len(set.Keys))}
	for i, m := range set.Keys {
		k, err := keyFromJWK(m, allowed)
		switch {
		case err != nil:
			out.refused = append(out.refused, fmt.Errorf("key %d (kid %q): %w", i, truncate(m.KID, 80), err))
		case k == nil:
			out.skipped = append(out.skipped, skippedJWK{index: i, kid: truncate(m.KID, 80)})
		default:
			out.keys = append(out.keys, k)
		}
	}
	return out, nil
}

// keyFromJWK applies Verdict's key policy to one JWK and binds it. It returns nil, nil for a key
// that is simply not a signature verification key Verdict can use, and an error wrapping
// errKeyRefused for one that must not be trusted.
func keyFromJWK(m jwkset.JWKMarshal, allowed []string) (*verifyKey, error) {
	if m.D != "" || m.P != "" || m.Q != "" || m.DP != "" || m.DQ != "" || m.QI != "" || len(m.OTH) > 0 || m.K != "" {
		return nil, fmt.Errorf("%w: private or symmetric key material in a verification key set", errKeyRefused)
	}
	if m.USE != "" && m.USE != jwkset.UseSig {
		return nil, nil
	}
	if len(m.KEYOPS) > 0 && !slices.Contains(m.KEYOPS, jwkset.KeyOpsVerify) {
		return nil, nil
	}
	switch m.KTY {
	case jwkset.KtyRSA, jwkset.KtyEC:
	case jwkset.KtyOKP:
		if m.CRV != jwkset.CrvEd25519 {
			return nil, nil
		}
	default:
		return nil, nil
	}
	if m.ALG != "" && !slices.Contains(signatureAlgs, string(m.ALG)) {
		return nil, nil
	}
	alg := string(m.ALG)
	if m.ALG == "Ed25519" {
		m.ALG = jwkset.AlgEdDSA // jwkset knows only the polymorphic name
	}
	jwk, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errKeyRefused, err)
	}
	k, err := bindKey(jwk.Key(), m.KID, alg, allowed)
	if err != nil {
		return nil, err
	}
	if len(k.algs) == 0 {
		return nil, nil
	}
	return k, nil
}

// loadPEMFiles reads public keys from PEM files: PKIX "PUBLIC KEY", PKCS#1 "RSA PUBLIC KEY" and
// "CERTIFICATE" blocks (only the certificate's key is used; validity is not checked), as
// pemkey.ParsePublicKeys reads them. Each key is identified by its RFC 7638 thumbprint.
func loadPEMFiles(paths []string, allowed []string) ([]*verifyKey, error) {
	var keys []*verifyKey
	for _, path := range paths {
		data, err := readKeyFile(path)
		if err != nil {
			return nil, err
		}
		pubs, err := pemkey.ParsePublicKeys(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, refusedPEM(err))
		}
		for _, pub := range pubs {
			k, err := bindKey(pub, "", "", allowed)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			if len(k.algs) == 0 {
				return nil, fmt.Errorf("%s: the issuer's algorithms allow none this %s key can verify", path, pemkey.TypeName(pub))
			}
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// refusedPEM wraps in errKeyRefused the pemkey errors that refuse the key itself (private
// material, too weak, an unsupported type), as the same keys in a JWK Set are refused.
func refusedPEM(err error) error {
	for _, refused := range []error{pemkey.ErrPrivateKey, pemkey.ErrWeakKey, pemkey.ErrUnsupportedKey} {
		if errors.Is(err, refused) {
			return fmt.Errorf("%w: %w", errKeyRefused, err)
		}
	}
	return err
}

// readKeyFile reads a key file, refusing files over maxKeyFileBytes.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > maxKeyFileBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxKeyFileBytes)
	}
	return data, nil
}

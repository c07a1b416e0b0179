package bundle

import (
	"archive/tar"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
	opabundle "github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/util"

	"github.com/verdict-pdp/verdict/pdp/pemkey"
)

// SignOptions say how to sign a bundle.
type SignOptions struct {
	// Key is a PEM private key: PKCS#8 (RSA, EC or Ed25519), PKCS#1 RSA or SEC 1 EC.
	Key []byte
	// Algorithm is RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512 or EdDSA; empty
	// picks the key's usual one (RS256 for RSA, ES256/384/512 by curve, EdDSA for Ed25519).
	Algorithm string
	// KeyID goes in the JWT kid header and in the keyid claim older OPAs read; empty means
	// DefaultKeyID, which is what OPA's tools use.
	KeyID string
	// Scope, when set, is the JWT scope claim; a verifier configured with a scope requires it.
	Scope string
}

// Sign returns the archive raw with a .signatures.json over all of its other files, in OPA's
// format: one JWT whose files claim lists each file's name and SHA-256 (of the canonical JSON
// for .manifest, data.json and data.yaml, of the bytes for the rest). Any signature already in
// raw is replaced; the other entries are copied as they are. raw is checked as Parse checks
// it, with maxBytes as the limit.
func Sign(raw []byte, maxBytes int64, opts SignOptions) ([]byte, error) {
	signer, err := pemkey.ParsePrivate(opts.Key)
	if err != nil {
		return nil, fmt.Errorf("sign bundle: %w: %w", ErrBadKey, err)
	}
	alg, err := algorithmFor(signer.Public(), opts.Algorithm)
	if err != nil {
		return nil, fmt.Errorf("sign bundle: %w", err)
	}
	entries, err := scanArchive(raw, maxBytes, true)
	if err != nil {
		return nil, fmt.Errorf("sign bundle: %w", err)
	}
	var (
		kept  []archiveEntry
		files []opabundle.FileInfo
	)
	for _, e := range entries {
		if opabundle.IsSignaturesFile(e.name) {
			continue
		}
		fi, err := hashEntry(e)
		if err != nil {
			return nil, fmt.Errorf("sign bundle: %w", err)
		}
		kept, files = append(kept, e), append(files, fi)
	}
	token, err := signToken(files, alg, signer, opts)
	if err != nil {
		return nil, fmt.Errorf("sign bundle: %w", err)
	}
	sigs, err := json.MarshalIndent(opabundle.SignaturesConfig{Signatures: []string{token}}, "", " ")
	if err != nil {
		return nil, fmt.Errorf("sign bundle: %w", err)
	}
	out, err := writeArchive(append(kept, archiveEntry{name: signaturesFile, data: sigs}))
	if err != nil {
		return nil, fmt.Errorf("sign bundle: %w", err)
	}
	return out, nil
}

// hashEntry hashes a file as OPA's VerifyBundleFile does, so the two always agree.
func hashEntry(e archiveEntry) (opabundle.FileInfo, error) {
	hasher, err := opabundle.NewSignatureHasher(opabundle.SHA256)
	if err != nil {
		return opabundle.FileInfo{}, err
	}
	var value any = e.data
	if opabundle.IsStructuredDoc(e.name) {
		if err := util.Unmarshal(e.data, &value); err != nil {
			return opabundle.FileInfo{}, fmt.Errorf("%w: %s: %w", ErrInvalidBundle, e.name, err)
		}
	}
	sum, err := hasher.HashFile(value)
	if err != nil {
		return opabundle.FileInfo{}, fmt.Errorf("%s: %w", e.name, err)
	}
	return opabundle.NewFile(e.name, hex.EncodeToString(sum), string(opabundle.SHA256)), nil
}

// signToken builds and signs the JWT OPA's default signer would: the files claim, the key id
// in the kid header and the keyid claim, and the scope claim when there is one.
func signToken(files []opabundle.FileInfo, alg string, key any, opts SignOptions) (string, error) {
	kid := opts.KeyID
	if kid == "" {
		kid = DefaultKeyID
	}
	claims := jwt.MapClaims{"files": files, "keyid": kid}
	if opts.Scope != "" {
		claims["scope"] = opts.Scope
	}
	method := jwt.GetSigningMethod(alg)
	if method == nil {
		return "", fmt.Errorf("%w: unknown algorithm %q", ErrBadKey, alg)
	}
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["kid"] = kid
	return tok.SignedString(key)
}

// writeArchive writes entries as a gzipped tar, each named with a leading slash.
func writeArchive(entries []archiveEntry) ([]byte, error) {
	return gzipTar(func(tw *tar.Writer) error {
		for _, e := range entries {
			if err := writeTarFile(tw, "/"+e.name, e.data); err != nil {
				return err
			}
		}
		return nil
	})
}

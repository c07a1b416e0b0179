package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/MicahParks/jwkset"

	"github.com/verdict-pdp/verdict/pdp/config"
)

// The development issuer of `verdict serve --dev`.
const (
	// DevIssuer is the iss of development tokens.
	DevIssuer = "https://verdict.dev.local"
	// DevAudience is the aud of development tokens.
	DevAudience = "verdict"
	// DevKeyFile is the development signing key's file name under the data directory.
	DevKeyFile = "dev-signing-key.pem"
	// DevJWKSFile is the file name of the JWK Set holding the development public key.
	DevJWKSFile = "dev-jwks.json"
	// DefaultDevTokenTTL is the lifetime of a development token when none is given.
	DefaultDevTokenTTL = time.Hour
)

// DevKey is the development issuer's ES256 signing key. It signs tokens that a Verifier built
// with its Issuer configuration accepts. It is for development only: anyone who can read the
// key file can mint tokens.
type DevKey struct {
	key      *ecdsa.PrivateKey
	kid      string
	jwksPath string
	now      func() time.Time
}

// LoadOrCreateDevKey loads the development key from dir/dev-signing-key.pem, creating dir (mode
// 0700) and a new P-256 key (mode 0600) on first use, and (re)writes dir/dev-jwks.json with its
// public key. A key file readable by group or others is refused, as ssh refuses such keys.
func LoadOrCreateDevKey(dir string) (*DevKey, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("dev key: %w", err)
	}
	path := filepath.Join(dir, DevKeyFile)
	key, err := loadDevKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = createDevKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("dev key: %w", err)
	}
	return newDevKey(dir, key)
}

// LoadDevKey loads the development key that LoadOrCreateDevKey created in dir; a missing key
// is an error wrapping fs.ErrNotExist that names the file looked for.
func LoadDevKey(dir string) (*DevKey, error) {
	key, err := loadDevKey(filepath.Join(dir, DevKeyFile))
	if err != nil {
		return nil, fmt.Errorf("dev key: %w", err)
	}
	return newDevKey(dir, key)
}

// newDevKey wraps key and (re)writes the JWK Set file beside it.
func newDevKey(dir string, key *ecdsa.PrivateKey) (*DevKey, error) {
	kid, err := Thumbprint(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("dev key: %w", err)
	}
	d := &DevKey{key: key, kid: kid, jwksPath: filepath.Join(dir, DevJWKSFile), now: time.Now}
	if err := d.writeJWKS(); err != nil {
		return nil, fmt.Errorf("dev key: %w", err)
	}
	return d, nil
}

func loadDevKey(path string) (*ecdsa.PrivateKey, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s is accessible by others (mode %04o); chmod 600 it", path, info.Mode().Perm())
	}
	signer, err := LoadSigningKey(path)
	if err != nil {
		return nil, err
	}
	key, ok := signer.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%s is not an ECDSA P-256 key", path)
	}
	return key, nil
}

// createDevKey writes a new key to a temporary file and links it into place, so a concurrent
// start never reads a half-written key and the first writer wins.
func createDevKey(path string) (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	tmp, err := writeTemp(filepath.Dir(path), ".dev-signing-key-*", data)
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return loadDevKey(path)
		}
		return nil, err
	}
	return key, nil
}

// writeJWKS writes the public key as a JWK Set, replacing the file atomically.
func (d *DevKey) writeJWKS() error {
	jwk, err := jwkset.NewJWKFromKey(&d.key.PublicKey, jwkset.JWKOptions{
		Metadata: jwkset.JWKMetadataOptions{ALG: jwkset.AlgES256, KID: d.kid, USE: jwkset.UseSig},
	})
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent(jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{jwk.Marshal()}}, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := writeTemp(filepath.Dir(d.jwksPath), ".dev-jwks-*", append(data, '\n'))
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, d.jwksPath); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// writeTemp writes data to a new mode-0600 file in dir and returns its name.
func writeTemp(dir, pattern string, data []byte) (string, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", err
	}
	_, werr := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// KeyID is the development key's kid, its RFC 7638 thumbprint.
func (d *DevKey) KeyID() string { return d.kid }

// Signer is the development key, for MintWithType.
func (d *DevKey) Signer() crypto.Signer { return d.key }

// Issuer returns the configuration of the development issuer, defaults applied: issuer
// DevIssuer, audience DevAudience, ES256 only, keys from the JWK Set file beside the key.
func (d *DevKey) Issuer() config.Issuer {
	is := config.Issuer{
		Issuer:     DevIssuer,
		Audiences:  []string{DevAudience},
		JWKSFile:   d.jwksPath,
		Algorithms: []string{"ES256"},
	}
	is.SetDefaults()
	return is
}

// Mint signs a development token valid for ttl (DefaultDevTokenTTL when ttl <= 0). claims are
// added to iss, aud, iat and exp, which they may override; jti and client_id are filled in as
// Mint does.
func (d *DevKey) Mint(claims map[string]any, ttl time.Duration) (string, error) {
	if ttl <= 0 {
		ttl = DefaultDevTokenTTL
	}
	now := d.now()
	c := map[string]any{
		"iss": DevIssuer,
		"aud": DevAudience,
		"iat": now.Unix(),
		"exp": now.Add(ttl).Unix(),
	}
	maps.Copy(c, claims)
	return Mint(d.key, d.kid, c)
}

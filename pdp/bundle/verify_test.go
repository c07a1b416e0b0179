package bundle

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	opabundle "github.com/open-policy-agent/opa/v1/bundle"

	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/pemkey"
)

const testLimit = 1 << 20

// signed returns testdata/basic as an archive signed with the named test key.
func signed(t *testing.T, key string, opts SignOptions) []byte {
	t.Helper()
	opts.Key = testKeys()[key].priv
	raw, err := Sign(tarGz(t, basicEntries(t)), testLimit, opts)
	if err != nil {
		t.Fatalf("Sign() error = %v", err)
	}
	return raw
}

// edit rewrites the archive raw through fn.
func edit(t *testing.T, raw []byte, fn func([]archiveEntry) []archiveEntry) []byte {
	t.Helper()
	entries, err := scanArchive(raw, testLimit, true)
	if err != nil {
		t.Fatal(err)
	}
	out, err := writeArchive(fn(entries))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// setEntry replaces or adds the named entry.
func setEntry(name, body string) func([]archiveEntry) []archiveEntry {
	return func(es []archiveEntry) []archiveEntry {
		for i := range es {
			if es[i].name == name {
				es[i].data = []byte(body)
				return es
			}
		}
		return append(es, archiveEntry{name: name, data: []byte(body)})
	}
}

func dropEntry(name string) func([]archiveEntry) []archiveEntry {
	return func(es []archiveEntry) []archiveEntry {
		var out []archiveEntry
		for _, e := range es {
			if e.name != name {
				out = append(out, e)
			}
		}
		return out
	}
}

// crafted signs testdata/basic with a hand-made JWT: header fields and claims over the usual
// files claim, with the named key under alg.
func crafted(t *testing.T, key, alg string, header, claims map[string]any) []byte {
	t.Helper()
	signer, err := pemkey.ParsePrivate(testKeys()[key].priv)
	if err != nil {
		t.Fatal(err)
	}
	return edit(t, tarGz(t, basicEntries(t)), func(es []archiveEntry) []archiveEntry {
		var files []opabundle.FileInfo
		for _, e := range es {
			fi, err := hashEntry(e)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, fi)
		}
		c := jwt.MapClaims{"files": files}
		for k, v := range claims {
			c[k] = v
		}
		tok := jwt.NewWithClaims(jwt.GetSigningMethod(alg), c)
		for k, v := range header {
			tok.Header[k] = v
		}
		s, err := tok.SignedString(signer)
		if err != nil {
			t.Fatal(err)
		}
		sigs, _ := json.Marshal(opabundle.SignaturesConfig{Signatures: []string{s}})
		return append(es, archiveEntry{name: signaturesFile, data: sigs})
	})
}

func verifierFor(t *testing.T, def, scope string, keys map[string]string) *Verifier {
	t.Helper()
	pems := map[string][]byte{}
	for id, name := range keys {
		pems[id] = testKeys()[name].pub
	}
	v, err := NewVerifier(pems, def, scope)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerify(t *testing.T) {
	rsaDefault := func(t *testing.T) *Verifier {
		return verifierFor(t, DefaultKeyID, "", map[string]string{DefaultKeyID: "rsa"})
	}
	tests := []struct {
		name     string
		archive  func(t *testing.T) []byte
		verifier func(t *testing.T) *Verifier
		wantErr  error
	}{
		{name: "RS256", archive: func(t *testing.T) []byte { return signed(t, "rsa", SignOptions{}) }},
		{name: "PS256", archive: func(t *testing.T) []byte { return signed(t, "rsa", SignOptions{Algorithm: "PS256"}) }},
		{
			name:    "ES256",
			archive: func(t *testing.T) []byte { return signed(t, "ec256", SignOptions{}) },
			verifier: func(t *testing.T) *Verifier {
				return verifierFor(t, DefaultKeyID, "", map[string]string{DefaultKeyID: "ec256"})
			},
		},
		{
			name:    "EdDSA",
			archive: func(t *testing.T) []byte { return signed(t, "ed25519", SignOptions{}) },
			verifier: func(t *testing.T) *Verifier {
				return verifierFor(t, DefaultKeyID, "", map[string]string{DefaultKeyID: "ed25519"})
			},
		},
		{
			name:    "key id names one of several keys",
			archive: func(t *testing.T) []byte { return signed(t, "ec256", SignOptions{KeyID: "ci-2026"}) },
			verifier: func(t *testing.T) *Verifier {
				return verifierFor(t, DefaultKeyID, "", map[string]string{DefaultKeyID: "rsa", "ci-2026": "ec256"})
			},
		},
		{
			name:    "no key id is checked against the default key",
			archive: func(t *testing.T) []byte { return crafted(t, "rsa", "RS256", nil, nil) },
		},
		{
			name:    "deprecated keyid claim names the key",
			archive: func(t *testing.T) []byte { return crafted(t, "ec256", "ES256", nil, map[string]any{"keyid": "other"}) },
			verifier: func(t *testing.T) *Verifier {
				return verifierFor(t, "", "", map[string]string{"other": "ec256"})
			},
		},
		{
			name:     "no key id and no default key",
			archive:  func(t *testing.T) []byte { return crafted(t, "rsa", "RS256", nil, nil) },
			verifier: func(t *testing.T) *Verifier { return verifierFor(t, "", "", map[string]string{"k": "rsa"}) },
			wantErr:  ErrUnknownKey,
		},
		{
			name:    "unsigned",
			archive: func(t *testing.T) []byte { return tarGz(t, basicEntries(t)) },
			wantErr: ErrUnsigned,
		},
		{
			name:    "unknown key id",
			archive: func(t *testing.T) []byte { return signed(t, "rsa", SignOptions{KeyID: "stolen"}) },
			wantErr: ErrUnknownKey,
		},
		{
			name:    "another key under the known id",
			archive: func(t *testing.T) []byte { return signed(t, "rsa-other", SignOptions{}) },
			wantErr: ErrBadSignature,
		},
		{
			name: "policy changed after signing",
			archive: func(t *testing.T) []byte {
				return edit(t, signed(t, "rsa", SignOptions{}), setEntry("authz.rego", "package example.authz\n\nallow := true\n"))
			},
			wantErr: ErrBadSignature,
		},
		{
			name: "manifest changed after signing",
			archive: func(t *testing.T) []byte {
				return edit(t, signed(t, "rsa", SignOptions{}), setEntry(".manifest", `{"roots": ["example"], "revision": "forged"}`))
			},
			wantErr: ErrBadSignature,
		},
		{
			name: "data reformatted after signing still verifies",
			archive: func(t *testing.T) []byte {
				es, err := scanArchive(signed(t, "rsa", SignOptions{}), testLimit, true)
				if err != nil {
					t.Fatal(err)
				}
				var data any
				for _, e := range es {
					if e.name == "data.json" {
						_ = json.Unmarshal(e.data, &data)
					}
				}
				pretty, _ := json.MarshalIndent(data, "", "      ")
				return edit(t, signed(t, "rsa", SignOptions{}), setEntry("data.json", string(pretty)))
			},
		},
		{
			name: "file added after signing",
			archive: func(t *testing.T) []byte {
				return edit(t, signed(t, "rsa", SignOptions{}), setEntry("example/extra.rego", "package example.extra\n"))
			},
			wantErr: ErrBadSignature,
		},
		{
			name: "signed file removed",
			archive: func(t *testing.T) []byte {
				return edit(t, signed(t, "rsa", SignOptions{}), dropEntry("authz_test.rego"))
			},
			wantErr: ErrBadSignature,
		},
		{
			name:    "scope required and present",
			archive: func(t *testing.T) []byte { return signed(t, "rsa", SignOptions{Scope: "prod"}) },
			verifier: func(t *testing.T) *Verifier {
				return verifierFor(t, DefaultKeyID, "prod", map[string]string{DefaultKeyID: "rsa"})
			},
		},
		{
			name:    "scope required and missing",
			archive: func(t *testing.T) []byte { return signed(t, "rsa", SignOptions{}) },
			verifier: func(t *testing.T) *Verifier {
				return verifierFor(t, DefaultKeyID, "prod", map[string]string{DefaultKeyID: "rsa"})
			},
			wantErr: ErrBadSignature,
		},
		{
			name:    "scope present and none required",
			archive: func(t *testing.T) []byte { return signed(t, "rsa", SignOptions{Scope: "staging"}) },
			wantErr: ErrBadSignature,
		},
		{
			name: "algorithm header that does not fit the key",
			archive: func(t *testing.T) []byte {
				return crafted(t, "rsa", "RS256", map[string]any{"kid": DefaultKeyID, "alg": "ES256"}, nil)
			},
			wantErr: ErrBadSignature,
		},
		{
			name: "two signatures files",
			archive: func(t *testing.T) []byte {
				raw := signed(t, "rsa", SignOptions{})
				return edit(t, raw, func(es []archiveEntry) []archiveEntry {
					for _, e := range es {
						if e.name == signaturesFile {
							return append(es, archiveEntry{name: "example/" + signaturesFile, data: e.data})
						}
					}
					return es
				})
			},
			wantErr: ErrBadSignature,
		},
		{
			name: "malformed signatures file",
			archive: func(t *testing.T) []byte {
				return edit(t, tarGz(t, basicEntries(t)), setEntry(signaturesFile, `{"signatures": [`))
			},
			wantErr: ErrBadSignature,
		},
		{
			name: "no signature in the signatures file",
			archive: func(t *testing.T) []byte {
				return edit(t, tarGz(t, basicEntries(t)), setEntry(signaturesFile, `{"signatures": []}`))
			},
			wantErr: ErrBadSignature,
		},
		{
			name: "signature plugin",
			archive: func(t *testing.T) []byte {
				return edit(t, tarGz(t, basicEntries(t)), setEntry(signaturesFile, `{"signatures": ["a.b.c"], "plugin": "custom"}`))
			},
			wantErr: ErrBadSignature,
		},
		{
			name: "not a JWS",
			archive: func(t *testing.T) []byte {
				return edit(t, tarGz(t, basicEntries(t)), setEntry(signaturesFile, `{"signatures": ["not-a-jwt"]}`))
			},
			wantErr: ErrBadSignature,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := rsaDefault
			if tt.verifier != nil {
				v = tt.verifier
			}
			b, err := Parse(tt.archive(t), ReadOptions{MaxBytes: testLimit, Verifier: v(t)})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Parse() error = %v, want %v", err, tt.wantErr)
				}
				for _, other := range []error{ErrUnsigned, ErrUnknownKey, ErrBadSignature, ErrInvalidBundle} {
					if other != tt.wantErr && errors.Is(err, other) {
						t.Errorf("Parse() error %v also wraps %v", err, other)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			if len(b.Modules) != 2 {
				t.Errorf("modules = %d, want 2", len(b.Modules))
			}
		})
	}
}

func TestSignedBundleLoadsWithoutVerifier(t *testing.T) {
	b, err := Parse(signed(t, "rsa", SignOptions{}), ReadOptions{MaxBytes: testLimit})
	if err != nil {
		t.Fatalf("Parse() error = %v", err)
	}
	if len(b.Modules) != 2 {
		t.Errorf("modules = %d, want 2", len(b.Modules))
	}
}

func TestSignRefuses(t *testing.T) {
	keys := testKeys()
	tests := []struct {
		name string
		raw  func(t *testing.T) []byte
		opts SignOptions
		want error
	}{
		{name: "no key", raw: func(t *testing.T) []byte { return tarGz(t, basicEntries(t)) }, want: ErrBadKey},
		{name: "algorithm that does not fit", raw: func(t *testing.T) []byte { return tarGz(t, basicEntries(t)) },
			opts: SignOptions{Key: keys["rsa"].priv, Algorithm: "ES256"}, want: ErrBadKey},
		{name: "HMAC", raw: func(t *testing.T) []byte { return tarGz(t, basicEntries(t)) },
			opts: SignOptions{Key: keys["rsa"].priv, Algorithm: "HS256"}, want: ErrBadKey},
		{name: "unsafe archive", raw: func(t *testing.T) []byte { return tarGz(t, withEntry(entry{name: "../x.rego", body: "package x"})(t)) },
			opts: SignOptions{Key: keys["rsa"].priv}, want: ErrUnsafePath},
		{name: "bad json data", raw: func(t *testing.T) []byte {
			return tarGz(t, withEntry(entry{name: "/example/x/data.json", body: "{"})(t))
		}, opts: SignOptions{Key: keys["rsa"].priv}, want: ErrInvalidBundle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Sign(tt.raw(t), testLimit, tt.opts); !errors.Is(err, tt.want) {
				t.Fatalf("Sign() error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSignReplacesSignature(t *testing.T) {
	raw := signed(t, "rsa-other", SignOptions{KeyID: "old"})
	raw, err := Sign(raw, testLimit, SignOptions{Key: testKeys()["rsa"].priv})
	if err != nil {
		t.Fatal(err)
	}
	v := verifierFor(t, DefaultKeyID, "", map[string]string{DefaultKeyID: "rsa"})
	if _, err := Parse(raw, ReadOptions{MaxBytes: testLimit, Verifier: v}); err != nil {
		t.Fatalf("Parse() error = %v", err)
	}
	es, _ := scanArchive(raw, testLimit, true)
	n := 0
	for _, e := range es {
		if e.name == signaturesFile {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d signatures files, want 1", n)
	}
}

func TestLoadVerifier(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keys := testKeys()
	rsaPub, ecPub := write("rsa.pem", keys["rsa"].pub), write("ec.pem", keys["ec256"].pub)
	tests := []struct {
		name    string
		cfg     *config.Verification
		wantIDs string
		wantErr string
	}{
		{name: "none"},
		{name: "public key", cfg: &config.Verification{PublicKey: rsaPub}, wantIDs: "default"},
		{name: "public key with an id and more keys", cfg: &config.Verification{PublicKey: rsaPub, KeyID: "main", Keys: map[string]string{"ci": ecPub}}, wantIDs: "ci,main"},
		{name: "keys only", cfg: &config.Verification{Keys: map[string]string{"ci": ecPub}}, wantIDs: "ci"},
		{name: "duplicate id", cfg: &config.Verification{PublicKey: rsaPub, Keys: map[string]string{"default": ecPub}}, wantErr: "also public_key"},
		{name: "missing file", cfg: &config.Verification{PublicKey: filepath.Join(dir, "nope.pem")}, wantErr: "public_key"},
		{name: "not a key", cfg: &config.Verification{Keys: map[string]string{"x": write("x.pem", []byte("hello"))}}, wantErr: "unusable"},
		{name: "nothing", cfg: &config.Verification{}, wantErr: "no keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := LoadVerifier(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("LoadVerifier() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.cfg == nil {
				if v != nil {
					t.Fatal("LoadVerifier(nil) returned a verifier")
				}
				return
			}
			if got := strings.Join(v.KeyIDs(), ","); got != tt.wantIDs {
				t.Errorf("key ids = %s, want %s", got, tt.wantIDs)
			}
		})
	}
}

package token

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/verdict-pdp/verdict/pdp/config"
)

// FuzzBearerToken feeds arbitrary Authorization values, seeded from the BearerToken table. It
// must never panic, and whatever it returns must be a b64token within the cap, taken from a
// Bearer header.
func FuzzBearerToken(f *testing.F) {
	for _, tc := range bearerCases() {
		switch len(tc.values) {
		case 0:
			f.Add("", false)
		case 1:
			f.Add(tc.values[0], false)
		default:
			f.Add(tc.values[0], true)
		}
	}
	f.Fuzz(func(t *testing.T, value string, twice bool) {
		h := http.Header{"Authorization": {value}}
		if twice {
			h["Authorization"] = append(h["Authorization"], value)
		}
		tok, err := BearerToken(h, testMaxBytes)
		if err != nil {
			if tok != "" {
				t.Fatal("token returned with an error")
			}
			if !errors.Is(err, ErrNoCredentials) && !errors.Is(err, ErrInvalidRequest) && !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("error outside the taxonomy: %v", err)
			}
			return
		}
		if twice {
			t.Fatal("two headers accepted")
		}
		if tok == "" || len(tok) > testMaxBytes || !isB64Token(tok) {
			t.Fatalf("accepted %q", tok)
		}
		if len(value) < 7 || !strings.EqualFold(value[:7], "bearer ") || !strings.HasSuffix(value, tok) {
			t.Fatalf("accepted %q from %q", tok, value)
		}
	})
}

// FuzzVerify feeds arbitrary token strings, seeded from the verification table. It must never
// panic; every error must be ErrInvalidToken; and anything accepted must carry a signature that
// one of the fixture's keys made over its header and payload.
func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	for _, tc := range verifyCases() {
		f.Add(tc.token(f, fx))
	}
	// Opaque tokens: with no introspection configured they are refused, never parsed as JWTs.
	for _, raw := range []string{"opaque-token", "a.b", "a.b.c.d.e", "2YotnFZFEjr1zCsicMWpAA"} {
		f.Add(raw)
	}
	v := fx.verifier(f, Deps{})
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := v.Verify(context.Background(), raw)
		if err != nil {
			if p != nil {
				t.Fatal("principal returned with an error")
			}
			if !errors.Is(err, ErrInvalidToken) || errors.Is(err, ErrUnavailable) {
				t.Fatalf("error outside the taxonomy: %v", err)
			}
			return
		}
		if p == nil || p.Issuer == "" {
			t.Fatal("accepted without a principal")
		}
		if !signedByFixture(fx, raw) {
			t.Fatalf("accepted a token no fixture key signed: %q", raw)
		}
	})
}

// signedByFixture checks a compact JWS's signature with the fixture's public keys directly,
// independently of the code under test.
func signedByFixture(fx *fixture, raw string) bool {
	s := strings.Split(raw, ".")
	if len(s) != 3 {
		return false
	}
	sig, err := segmentEncoding.DecodeString(s[2])
	if err != nil {
		return false
	}
	input := []byte(s[0] + "." + s[1])
	digest := sha256.Sum256(input)
	for _, pub := range []*rsa.PublicKey{&fx.rsa.PublicKey, &fx.rsaOther.PublicKey} {
		if rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) == nil {
			return true
		}
	}
	if len(sig) == 64 {
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		if ecdsa.Verify(&fx.ec.PublicKey, digest[:], r, s) {
			return true
		}
	}
	return ed25519.Verify(fx.ed.Public().(ed25519.PublicKey), input, sig)
}

// FuzzIntrospectionAnswer feeds arbitrary introspection response bodies, seeded from the
// introspection table, through decoding and the local checks. It must never panic, and an
// accepted answer must say "active": true for the configured issuer and an audience of ours.
func FuzzIntrospectionAnswer(f *testing.F) {
	for _, tc := range introspectionCases() {
		f.Add([]byte(tc.answer.body))
	}
	in := &introspector{issuer: testIssuer, audiences: []string{"verdict"}, claims: config.DefaultClaims(),
		ttl: time.Minute, leeway: time.Minute}
	f.Fuzz(func(t *testing.T, body []byte) {
		doc, err := decodeIntrospection(body)
		if err != nil {
			return
		}
		p, until, err := in.check(doc, testNow)
		if err != nil {
			if p != nil {
				t.Fatal("principal returned with an error")
			}
			return
		}
		if doc["active"] != true || doc["iss"] != testIssuer || !audienceMatches(doc["aud"], in.audiences) {
			t.Fatalf("accepted %s", body)
		}
		if until.After(testNow.Add(time.Minute)) || p.Kind != "opaque" {
			t.Fatalf("cached until %s, principal %+v", until, p)
		}
	})
}

// FuzzParseJWKS feeds arbitrary JWK Sets, seeded from a real one, through the key policy. It
// must never panic, and every key it keeps must be one algorithmsFor accepts, bound to at least
// one of the issuer's algorithms.
func FuzzParseJWKS(f *testing.F) {
	fx := newFixture(f)
	for _, path := range []string{fx.cfg.Issuers[0].JWKSFile, fx.cfg.Issuers[1].JWKSFile} {
		data, err := readKeyFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`))
	f.Add([]byte(`{"keys":[],"keys":[]}`))
	allowed := []string{"RS256", "ES256", "EdDSA"}
	f.Fuzz(func(t *testing.T, data []byte) {
		parsed, err := parseJWKS(data, allowed)
		if err != nil {
			return
		}
		for _, k := range parsed.keys {
			if _, err := algorithmsFor(k.pub); err != nil || len(k.algs) == 0 {
				t.Fatalf("kept key %q: %v, algs %v", k.kid, err, k.algs)
			}
			for _, alg := range k.algs {
				if !slices.Contains(allowed, alg) {
					t.Fatalf("key %q bound to %s", k.kid, alg)
				}
			}
		}
	})
}

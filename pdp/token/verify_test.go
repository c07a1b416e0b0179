package token

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/verdict-pdp/verdict/pdp/strictjson"
)

// verifyCase is one row of the verification table: a token built from the fixture and the
// sentinel Verify must return (nil: accepted) with its finer reason.
type verifyCase struct {
	name   string
	token  func(t testing.TB, f *fixture) string
	want   error
	reason error
}

type (
	hdr = map[string]any
	clm = map[string]any
)

// verifyCases are the accepted controls and every rejection, in the manner of golang-jwt's
// parser_test.go. The fuzz test is seeded from them.
func verifyCases() []verifyCase {
	in := func(d time.Duration) int64 { return testNow.Add(d).Unix() }
	cases := []verifyCase{
		// Accepted.
		{name: "valid RS256", token: func(t testing.TB, f *fixture) string { return f.rs256(t, nil, claims(nil)) }},
		{name: "valid ES256", token: func(t testing.TB, f *fixture) string { return f.es256(t, nil, claims(nil)) }},
		{name: "aud names only the second configured audience (any-of)", token: func(t testing.TB, f *fixture) string {
			return f.es256(t, nil, claims(clm{"aud": "verdict-api"}))
		}},
		{name: "aud array holding one configured audience", token: func(t testing.TB, f *fixture) string {
			return f.rs256(t, nil, claims(clm{"aud": []any{"someone-else", "verdict-api"}}))
		}},
		{name: "typ application/at+jwt", token: func(t testing.TB, f *fixture) string {
			return f.rs256(t, hdr{"typ": "application/at+jwt"}, claims(nil))
		}},
		{name: "typ AT+JWT in upper case", token: func(t testing.TB, f *fixture) string {
			return f.es256(t, hdr{"typ": "AT+JWT"}, claims(nil))
		}},
		{name: "typ JWT accepted where require_typ is empty", token: func(t testing.TB, f *fixture) string {
			return sign(t, jwt.SigningMethodRS256, f.rsaOther, hdr{"kid": "other-1", "typ": "JWT"}, claims(clm{"iss": otherIssuer}))
		}},
		{name: "no typ accepted where require_typ is empty", token: func(t testing.TB, f *fixture) string {
			return sign(t, jwt.SigningMethodRS256, f.rsaOther, hdr{"kid": "other-1", "typ": nil}, claims(clm{"iss": otherIssuer}))
		}},
		{name: "signed EXP in the past beside a valid exp does not shadow it", token: func(t testing.TB, f *fixture) string {
			return f.rs256(t, nil, claims(clm{"EXP": in(-time.Hour)}))
		}},
		{name: "expired 10s ago, within the 30s leeway", token: func(t testing.TB, f *fixture) string {
			return f.rs256(t, nil, claims(clm{"exp": in(-10 * time.Second)}))
		}},

		// Algorithms and keys.
		{name: "alg none", want: ErrInvalidToken, reason: jwt.ErrTokenSignatureInvalid, token: func(t testing.TB, f *fixture) string {
			return sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, hdr{"kid": "rsa-1"}, claims(nil))
		}},
		{name: "alg none without kid", want: ErrInvalidToken, reason: jwt.ErrTokenSignatureInvalid, token: func(t testing.TB, f *fixture) string {
			return sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil, claims(nil))
		}},
		{name: "HS256 signed with the RSA public key as HMAC secret", want: ErrInvalidToken, reason: jwt.ErrTokenSignatureInvalid, token: func(t testing.TB, f *fixture) string {
			der, err := x509.MarshalPKIXPublicKey(&f.rsa.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
			return sign(t, jwt.SigningMethodHS256, secret, hdr{"kid": "rsa-1"}, claims(nil))
		}},
		{name: "PS256, not in the issuer's algorithms", want: ErrInvalidToken, reason: jwt.ErrTokenSignatureInvalid, token: func(t testing.TB, f *fixture) string {
			return sign(t, jwt.SigningMethodPS256, f.rsa, hdr{"kid": "rsa-1"}, claims(nil))
		}},
		{name: "signature by another key under a known kid", want: ErrInvalidToken, reason: jwt.ErrTokenSignatureInvalid, token: func(t testing.TB, f *fixture) string {
			return sign(t, jwt.SigningMethodRS256, f.rsaOther, hdr{"kid": "rsa-1"}, claims(nil))
		}},
		{name: "RS256 naming the EC key", want: ErrInvalidToken, reason: ErrKeyAlgorithm, token: func(t testing.TB, f *fixture) string {
			return sign(t, jwt.SigningMethodRS256, f.rsa, hdr{"kid": "ec-1"}, claims(nil))
		}},
		{name: "ES256 naming the RSA key", want: ErrInvalidToken, reason: ErrKeyAlgorithm, token: func(t testing.TB, f *fixture) string {
			return sign(t, jwt.SigningMethodES256, f.ec, hdr{"kid": "rsa-1"}, claims(nil))
		}},
		{name: "EdDSA naming the EC key", want: ErrInvalidToken, reason: ErrKeyAlgorithm, token: func(t testing.TB, f *fixture) string {
			return sign(t, jwt.SigningMethodEdDSA, f.ed, hdr{"kid": "ec-1"}, claims(nil))
		}},
		{name: "unknown kid", want: ErrInvalidToken, reason: ErrUnknownKey, token: func(t testing.TB, f *fixture) string {
			return sign(t, jwt.SigningMethodRS256, f.rsa, hdr{"kid": "rsa-2"}, claims(nil))
		}},
		{name: "no kid while the issuer has two keys", want: ErrInvalidToken, reason: ErrUnknownKey, token: func(t testing.TB, f *fixture) string {
			return sign(t, jwt.SigningMethodRS256, f.rsa, nil, claims(nil))
		}},
		{name: "kid with path characters", want: ErrInvalidToken, reason: ErrUnknownKey, token: func(t testing.TB, f *fixture) string {
			return sign(t, jwt.SigningMethodRS256, f.rsa, hdr{"kid": "../../../../etc/passwd"}, claims(nil))
		}},
		{name: "kid with SQL characters", want: ErrInvalidToken, reason: ErrUnknownKey, token: func(t testing.TB, f *fixture) string {
			return sign(t, jwt.SigningMethodRS256, f.rsa, hdr{"kid": "rsa-1' OR '1'='1"}, claims(nil))
		}},
		{name: "ECDSA signature r = s = 0", want: ErrInvalidToken, reason: jwt.ErrTokenSignatureInvalid, token: func(t testing.TB, f *fixture) string {
			s := segments(f.es256(t, nil, claims(nil)))
			return s[0] + "." + s[1] + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 64))
		}},
		{name: "kid is not a string", want: ErrInvalidToken, reason: ErrMalformed, token: func(t testing.TB, f *fixture) string {
			return sign(t, jwt.SigningMethodRS256, f.rsa, hdr{"kid": 1}, claims(nil))
		}},

		// Tampering.
		{name: "tampered payload", want: ErrInvalidToken, reason: jwt.ErrTokenSignatureInvalid, token: func(t testing.TB, f *fixture) string {
			return replacePayload(t, f.rs256(t, nil, claims(nil)), claims(clm{"sub": "mallory"}))
		}},
		{name: "tampered ES256 payload", want: ErrInvalidToken, reason: jwt.ErrTokenSignatureInvalid, token: func(t testing.TB, f *fixture) string {
			return replacePayload(t, f.es256(t, nil, claims(nil)), claims(clm{"roles": []any{"admin"}}))
		}},
		{name: "tampered signature bytes", want: ErrInvalidToken, reason: jwt.ErrTokenSignatureInvalid, token: func(t testing.TB, f *fixture) string {
			tok := f.rs256(t, nil, claims(nil))
			i := len(tok) - 20
			return tok[:i] + flip(tok[i]) + tok[i+1:]
		}},
		{name: "tampered signature encoding: non-zero trailing bits", want: ErrInvalidToken, reason: jwt.ErrTokenMalformed, token: func(t testing.TB, f *fixture) string {
			return nonCanonicalLast(f.rs256(t, nil, claims(nil)))
		}},
		{name: "tampered ES256 signature encoding", want: ErrInvalidToken, reason: jwt.ErrTokenMalformed, token: func(t testing.TB, f *fixture) string {
			return nonCanonicalLast(f.es256(t, nil, claims(nil)))
		}},
		{name: "padded signature", want: ErrInvalidToken, reason: jwt.ErrTokenMalformed, token: func(t testing.TB, f *fixture) string {
			return f.rs256(t, nil, claims(nil)) + "=="
		}},
		{name: "signature stripped", want: ErrInvalidToken, reason: jwt.ErrTokenSignatureInvalid, token: func(t testing.TB, f *fixture) string {
			s := segments(f.rs256(t, nil, claims(nil)))
			return s[0] + "." + s[1] + "."
		}},

		// Time.
		{name: "expired", want: ErrInvalidToken, reason: jwt.ErrTokenExpired, token: func(t testing.TB, f *fixture) string {
			return f.rs256(t, nil, claims(clm{"exp": in(-time.Minute), "iat": in(-time.Hour)}))
		}},
		{name: "expired exp beside a future EXP", want: ErrInvalidToken, reason: jwt.ErrTokenExpired, token: func(t testing.TB, f *fixture) string {
			return f.rs256(t, nil, claims(clm{"exp": in(-time.Minute), "EXP": in(time.Hour), "iat": in(-time.Hour)}))
		}},
		{name: "nbf in the future", want: ErrInvalidToken, reason: jwt.ErrTokenNotValidYet, token: func(t testing.TB, f *fixture) string {
			return f.rs256(t, nil, claims(clm{"nbf": in(5 * time.Minute)}))
		}},
		{name: "iat in the future", want: ErrInvalidToken, reason: jwt.ErrTokenUsedBeforeIssued, token: func(t testing.TB, f *fixture) string {
			return f.rs256(t, nil, claims(clm{"iat": in(5 * time.Minute)}))
		}},
		{name: "missing exp", want: ErrInvalidToken, reason: jwt.ErrTokenRequiredClaimMissing, token: func(t testing.TB, f *fixture) string {
			return f.rs256(t, nil, claims(clm{"exp": nil}))
		}},
		{name: "exp is a string", want: ErrInvalidToken, reason: jwt.ErrInvalidType, token: func(t testing.TB, f *fixture) string {
			return f.rs256(t, nil, claims(clm{"exp": "2099-01-01T00:00:00Z"}))
		}},
		{name: "lifetime over max_lifetime", want: ErrInvalidToken, reason: ErrLifetime, token: func(t testing.TB, f *fixture) string {
			return f.rs256(t, nil, claims(clm{"exp": in(3 * time.Hour)}))
		}},

		// Instants outside MinTime to MaxTime, from an issuer without max_lifetime.
		{name: "exp in 2318 (11000000000)", want: ErrInvalidToken, reason: ErrTimeRange, token: func(t testing.TB, f *fixture) string {
			return f.signOther(t, clm{"exp": 11000000000})
		}},
		{name: "exp at MaxTime", want: ErrInvalidToken, reason: ErrTimeRange, token: func(t testing.TB, f *fixture) string {
			return f.signOther(t, clm{"exp": 7258118400})
		}},
		{name: "exp past the int64 nanoseconds of 2262", want: ErrInvalidToken, reason: ErrTimeRange, token: func(t testing.TB, f *fixture) string {
			return f.signOther(t, clm{"exp": 9223372037})
		}},
		{name: "iat in 1600", want: ErrInvalidToken, reason: ErrTimeRange, token: func(t testing.TB, f *fixture) string {
			return f.signOther(t, clm{"iat": -11676096000})
		}},
		{name: "nbf before 1970", want: ErrInvalidToken, reason: ErrTimeRange, token: func(t testing.TB, f *fixture) string {
			return f.signOther(t, clm{"nbf": -1})
		}},
		{name: "exp a second before MaxTime is accepted", token: func(t testing.TB, f *fixture) string {
			return f.signOther(t, clm{"exp": 7258118399})
		}},

		// Issuer and audience.
		{name: "wrong iss: another configured issuer, signed with this issuer's key", want: ErrInvalidToken, reason: ErrUnknownKey, token: func(t testing.TB, f *fixture) string {
			return f.rs256(t, nil, claims(clm{"iss": otherIssuer}))
		}},
		{name: "wrong iss: this issuer, signed with the other issuer's key", want: ErrInvalidToken, reason: ErrUnknownKey, token: func(t testing.TB, f *fixture) string {
			return sign(t, jwt.SigningMethodRS256, f.rsaOther, hdr{"kid": "other-1"}, claims(nil))
		}},
		{name: "other issuer's key under this issuer's kid", want: ErrInvalidToken, reason: jwt.ErrTokenSignatureInvalid, token: func(t testing.TB, f *fixture) string {
			return sign(t, jwt.SigningMethodRS256, f.rsaOther, hdr{"kid": "rsa-1"}, claims(nil))
		}},
		{name: "unknown iss", want: ErrInvalidToken, reason: ErrUnknownIssuer, token: func(t testing.TB, f *fixture) string {
			return f.rs256(t, nil, claims(clm{"iss": "https://evil.example.com"}))
		}},
		{name: "iss differing only in a trailing slash", want: ErrInvalidToken, reason: ErrUnknownIssuer, token: func(t testing.TB, f *fixture) string {
			return f.rs256(t, nil, claims(clm{"iss": testIssuer + "/"}))
		}},
		{name: "missing iss", want: ErrInvalidToken, reason: ErrUnknownIssuer, token: func(t testing.TB, f *fixture) string {
			return f.rs256(t, nil, claims(clm{"iss": nil}))
		}},
		{name: "iss is not a string", want: ErrInvalidToken, reason: ErrClaim, token: func(t testing.TB, f *fixture) string {
			return f.rs256(t, nil, claims(clm{"iss": []any{testIssuer}}))
		}},
		{name: "wrong aud", want: ErrInvalidToken, reason: jwt.ErrTokenInvalidAudience, token: func(t testing.TB, f *fixture) string {
			return f.rs256(t, nil, claims(clm{"aud": "someone-else"}))
		}},
		{name: "missing aud", want: ErrInvalidToken, reason: jwt.ErrTokenRequiredClaimMissing, token: func(t testing.TB, f *fixture) string {
			return f.rs256(t, nil, claims(clm{"aud": nil}))
		}},
		{name: "empty aud", want: ErrInvalidToken, reason: jwt.ErrTokenRequiredClaimMissing, token: func(t testing.TB, f *fixture) string {
			return f.rs256(t, nil, claims(clm{"aud": ""}))
		}},

		// Header.
		{name: "typ JWT where at+jwt is required", want: ErrInvalidToken, reason: ErrType, token: func(t testing.TB, f *fixture) string {
			return f.rs256(t, hdr{"typ": "JWT"}, claims(nil))
		}},
		{name: "no typ where at+jwt is required", want: ErrInvalidToken, reason: ErrType, token: func(t testing.TB, f *fixture) string {
			return f.rs256(t, hdr{"typ": nil}, claims(nil))
		}},
		{name: "typ is not a string", want: ErrInvalidToken, reason: ErrType, token: func(t testing.TB, f *fixture) string {
			return f.rs256(t, hdr{"typ": 7}, claims(nil))
		}},

		// Claims.
		{name: "sub is not a string", want: ErrInvalidToken, reason: ErrClaim, token: func(t testing.TB, f *fixture) string {
			return f.rs256(t, nil, claims(clm{"sub": 42}))
		}},
		{name: "required jti missing", want: ErrInvalidToken, reason: ErrClaim, token: func(t testing.TB, f *fixture) string {
			return f.rs256(t, nil, claims(clm{"jti": nil}))
		}},
		{name: "required client_id empty", want: ErrInvalidToken, reason: ErrClaim, token: func(t testing.TB, f *fixture) string {
			return f.rs256(t, nil, claims(clm{"client_id": ""}))
		}},

		// Duplicate members: encoding/json keeps the last, other parsers the first.
		{name: "duplicate exp claim", want: ErrInvalidToken, reason: strictjson.ErrDuplicateMember, token: func(t testing.TB, f *fixture) string {
			return signRaw(t, f, `{"alg":"RS256","kid":"rsa-1","typ":"at+jwt"}`, duplicateClaim(t, `"exp":1`))
		}},
		{name: "duplicate sub claim spelled with an escape", want: ErrInvalidToken, reason: strictjson.ErrDuplicateMember, token: func(t testing.TB, f *fixture) string {
			return signRaw(t, f, `{"alg":"RS256","kid":"rsa-1","typ":"at+jwt"}`, duplicateClaim(t, `"\u0073ub":"mallory"`))
		}},
		{name: "duplicate nested member", want: ErrInvalidToken, reason: strictjson.ErrDuplicateMember, token: func(t testing.TB, f *fixture) string {
			return signRaw(t, f, `{"alg":"RS256","kid":"rsa-1","typ":"at+jwt"}`, duplicateClaim(t, `"realm_access":{"roles":["viewer"],"roles":["admin"]}`))
		}},
		{name: "duplicate header member", want: ErrInvalidToken, reason: strictjson.ErrDuplicateMember, token: func(t testing.TB, f *fixture) string {
			return signRaw(t, f, `{"alg":"RS256","kid":"rsa-1","typ":"at+jwt","kid":"ec-1"}`, duplicateClaim(t, ""))
		}},

		// Shape and size.
		{name: "token over the size cap", want: ErrInvalidToken, reason: ErrTokenTooLarge, token: func(t testing.TB, f *fixture) string {
			return f.rs256(t, nil, claims(clm{"pad": strings.Repeat("x", 9000)}))
		}},
		{name: "empty", want: ErrInvalidToken, reason: ErrMalformed, token: func(testing.TB, *fixture) string { return "" }},
		{name: "one segment", want: ErrInvalidToken, reason: ErrMalformed, token: func(testing.TB, *fixture) string { return "abc" }},
		{name: "four segments", want: ErrInvalidToken, reason: ErrMalformed, token: func(t testing.TB, f *fixture) string {
			return f.rs256(t, nil, claims(nil)) + ".x"
		}},
		{name: "JWE compact serialization", want: ErrInvalidToken, reason: ErrMalformed, token: func(testing.TB, *fixture) string {
			return rawToken(`{"alg":"RSA-OAEP","enc":"A256GCM"}`, `x`, "") + ".aaaa.bbbb"
		}},
		{name: "header is JSON null", want: ErrInvalidToken, reason: ErrMalformed, token: func(testing.TB, *fixture) string {
			return rawToken(`null`, `{"iss":"`+testIssuer+`"}`, "c2ln")
		}},
		{name: "payload is an array", want: ErrInvalidToken, reason: ErrMalformed, token: func(testing.TB, *fixture) string {
			return rawToken(`{"alg":"RS256","kid":"rsa-1"}`, `["`+testIssuer+`"]`, "c2ln")
		}},
		{name: "payload with trailing data", want: ErrInvalidToken, reason: ErrMalformed, token: func(t testing.TB, f *fixture) string {
			s := segments(f.rs256(t, nil, claims(nil)))
			payload, _ := base64.RawURLEncoding.DecodeString(s[1])
			return s[0] + "." + base64.RawURLEncoding.EncodeToString(append(payload, "{}"...)) + "." + s[2]
		}},
		{name: "payload is not UTF-8", want: ErrInvalidToken, reason: ErrMalformed, token: func(t testing.TB, f *fixture) string {
			c := claims(nil)
			tok := f.rs256(t, nil, c)
			s := segments(tok)
			payload, _ := base64.RawURLEncoding.DecodeString(s[1])
			payload = []byte(strings.Replace(string(payload), `"alice"`, "\"al\xffce\"", 1))
			return s[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + s[2]
		}},
	}
	for _, name := range forbiddenHeaders {
		value := map[string]any{
			"crit": []any{"exp"}, "jku": "https://evil.example.com/jwks", "x5u": "https://evil.example.com/cert",
			"jwk": map[string]any{"kty": "oct", "k": "c2VjcmV0"}, "x5c": []any{"MIIB"}, "b64": false,
			"cty": "JWT", "zip": "DEF", "enc": "A256GCM",
		}[name]
		cases = append(cases, verifyCase{
			name: "header " + name, want: ErrInvalidToken, reason: ErrHeader,
			token: func(t testing.TB, f *fixture) string { return f.rs256(t, hdr{name: value}, claims(nil)) },
		})
	}
	return cases
}

// duplicateClaim returns the JSON of claims(nil) with extra members appended verbatim.
func duplicateClaim(t testing.TB, extra string) string {
	t.Helper()
	data, err := json.Marshal(claims(nil))
	if err != nil {
		t.Fatal(err)
	}
	if extra == "" {
		return string(data)
	}
	return string(data[:len(data)-1]) + "," + extra + "}"
}

// signRaw signs header and payload JSON exactly as given with the fixture's RSA key.
func signRaw(t testing.TB, f *fixture, header, payload string) string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	input := enc([]byte(header)) + "." + enc([]byte(payload))
	sig, err := jwt.SigningMethodRS256.Sign(input, f.rsa)
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + enc(sig)
}

// flip changes one base64url character into another.
func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

// nonCanonicalLast sets a padding bit in the last base64url character of tok, which lenient
// decoders read as the same bytes.
func nonCanonicalLast(tok string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, tok[len(tok)-1])
	return tok[:len(tok)-1] + string(alphabet[i|1])
}

func TestVerify(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(t, Deps{})
	for _, tc := range verifyCases() {
		t.Run(tc.name, func(t *testing.T) {
			raw := tc.token(t, f)
			p, err := v.Verify(context.Background(), raw)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if p.Kind != "jwt" || p.Subject != "alice" {
					t.Fatalf("principal = %+v", p)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.reason != nil && !errors.Is(err, tc.reason) {
				t.Fatalf("err = %v, want reason %v", err, tc.reason)
			}
			if p != nil {
				t.Fatalf("principal returned with error")
			}
			if strings.Contains(err.Error(), raw) && raw != "" {
				t.Fatalf("error echoes the token")
			}
		})
	}
}

// TestNonCanonicalSignatureIsSameBytes shows the encoding row tests strictness, not a broken
// signature: a lenient decoder reads both encodings as the same signature.
func TestNonCanonicalSignatureIsSameBytes(t *testing.T) {
	f := newFixture(t)
	tok := f.rs256(t, nil, claims(nil))
	a, err := base64.RawURLEncoding.DecodeString(segments(tok)[2])
	if err != nil {
		t.Fatal(err)
	}
	b, err := base64.RawURLEncoding.DecodeString(segments(nonCanonicalLast(tok))[2])
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) {
		t.Fatal("non-canonical encoding decodes to different bytes")
	}
}

// TestIssuerWithoutLeeway: leeway 0s is kept, not replaced by the default, so a token expired
// 10 s ago is refused where the default 30 s would accept it.
func TestIssuerWithoutLeeway(t *testing.T) {
	f := newFixture(t)
	f.cfg.Issuers[0].Leeway = new(time.Duration(0))
	v := f.verifier(t, Deps{})
	_, err := v.Verify(context.Background(), f.rs256(t, nil, claims(clm{"exp": testNow.Add(-10 * time.Second).Unix()})))
	if !errors.Is(err, ErrInvalidToken) || !errors.Is(err, jwt.ErrTokenExpired) {
		t.Fatalf("Verify = %v, want an expired token refused", err)
	}
}

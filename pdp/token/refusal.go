package token

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Refusal says which check refused a token and, where the check compares values, what the
// token carried and what the configuration accepts. It is for an operator at a terminal
// (verdict eval --token, verdict token inspect): it holds claim values, so the HTTP API never
// sends it. It never holds the signature or key material.
type Refusal struct {
	// Check names the check that failed: a claim or header name (iss, aud, exp, nbf, iat, typ,
	// kid, alg) or signature, lifetime, header, claims, format, size, revoked, unavailable.
	Check string
	// Found is what the token carried; empty when the check compares no value.
	Found string
	// Expected is what the configuration accepts; empty when the check compares no value.
	Expected string
	// Err is the verification error.
	Err error
}

// String reads "aud: found [account], expected one of [verdict]", or the check and the error
// when the check compares no value.
func (r Refusal) String() string {
	if r.Found == "" && r.Expected == "" {
		return fmt.Sprintf("%s: %v", r.Check, r.Err)
	}
	return fmt.Sprintf("%s: found %s, expected %s", r.Check, r.Found, r.Expected)
}

// Explain says why Verify refused raw with err: the check that failed and, for the checks that
// compare values, the token's value and the configured ones.
func (v *Verifier) Explain(raw string, err error) Refusal {
	header, claims, _ := Decode(raw) // nil maps when raw is not a JWT; lookups then find nothing
	iss, _ := claims["iss"].(string)
	is := v.issuers[iss]
	now := v.now()
	r := Refusal{Check: checkOf(err), Err: err}
	switch {
	case r.Check == "iss":
		r.Found, r.Expected = found(claims, "iss"), fmt.Sprintf("one of %s", v.order)
		if len(v.order) == 0 {
			r.Expected = "a configured issuer, and none is configured (tokens.issuers)"
		}
	case is == nil:
	case r.Check == "aud":
		r.Found, r.Expected = found(claims, "aud"), fmt.Sprintf("one of %s", is.audiences)
		if aud, err := jwt.MapClaims(claims).GetAudience(); err == nil && aud != nil {
			r.Found = fmt.Sprint([]string(aud)) // a single string shows as a list of one, as it is compared
		}
	case r.Check == "exp":
		r.Found = foundTime(claims, "exp")
		r.Expected = fmt.Sprintf("after %s (now less leeway %s)", stamp(now.Add(-is.leeway)), is.leeway)
	case r.Check == "nbf" || r.Check == "iat":
		r.Found = foundTime(claims, r.Check)
		r.Expected = fmt.Sprintf("at or before %s (now plus leeway %s)", stamp(now.Add(is.leeway)), is.leeway)
	case r.Check == "typ":
		r.Found, r.Expected = found(header, "typ"), fmt.Sprintf("%q", is.requireTyp)
	case r.Check == "kid":
		r.Found, r.Expected = found(header, "kid"), "one of the issuer's key ids"
		if set := is.keys.current(); set != nil {
			r.Expected = fmt.Sprintf("one of %s", set.ids())
		}
	case r.Check == "lifetime":
		exp, _ := jwt.MapClaims(claims).GetExpirationTime()
		iat, _ := jwt.MapClaims(claims).GetIssuedAt()
		if exp != nil && iat != nil {
			r.Found = exp.Sub(iat.Time).String() + " (exp - iat)"
			r.Expected = "at most " + is.maxLifetime.String()
		}
	}
	return r
}

// checkOf names the check err reports, from the sentinels Verify wraps.
func checkOf(err error) string {
	for _, c := range []struct {
		err   error
		check string
	}{
		{ErrUnknownIssuer, "iss"},
		{jwt.ErrTokenInvalidAudience, "aud"},
		{jwt.ErrTokenExpired, "exp"},
		{jwt.ErrTokenNotValidYet, "nbf"},
		{jwt.ErrTokenUsedBeforeIssued, "iat"},
		{ErrType, "typ"},
		{ErrUnknownKey, "kid"},
		{ErrKeyAlgorithm, "alg"},
		{jwt.ErrTokenSignatureInvalid, "signature"},
		{ErrLifetime, "lifetime"},
		{ErrHeader, "header"},
		{ErrClaim, "claims"},
		{jwt.ErrTokenRequiredClaimMissing, "claims"},
		{ErrTokenTooLarge, "size"},
		{ErrMalformed, "format"},
		{ErrRevoked, "revoked"},
		{ErrInactive, "active"},
		{ErrUnavailable, "unavailable"},
	} {
		if errors.Is(err, c.err) {
			return c.check
		}
	}
	return "token"
}

// found renders m[name] for a Refusal: a string quoted, or "no NAME" when absent.
func found(m map[string]any, name string) string {
	v, ok := m[name]
	if !ok {
		return "no " + name
	}
	if s, isString := v.(string); isString {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprint(v)
}

// foundTime renders a NumericDate claim as a UTC time.
func foundTime(claims map[string]any, name string) string {
	get := map[string]func() (*jwt.NumericDate, error){
		"exp": jwt.MapClaims(claims).GetExpirationTime,
		"nbf": jwt.MapClaims(claims).GetNotBefore,
		"iat": jwt.MapClaims(claims).GetIssuedAt,
	}[name]
	at, err := get()
	if err != nil || at == nil {
		return found(claims, name)
	}
	return stamp(at.Time)
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

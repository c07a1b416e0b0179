package token

import (
	"encoding/json"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// propertyKind says how a mapped claim becomes a subject property, so policies see one shape
// whatever the IdP sends.
type propertyKind int

const (
	// kindAny passes the claim value through as is (custom mappings).
	kindAny propertyKind = iota
	// kindString keeps strings only.
	kindString
	// kindStrings makes a []any of strings from an array or a single string.
	kindStrings
	// kindScopes is kindStrings that also splits a space-separated string (RFC 8693 scope).
	kindScopes
	// kindNumber keeps numbers only (json.Number).
	kindNumber
)

// propertyKinds are the shapes of the properties the default policies read.
var propertyKinds = map[string]propertyKind{
	"roles":     kindStrings,
	"amr":       kindStrings,
	"scopes":    kindScopes,
	"tenant":    kindString,
	"acr":       kindString,
	"client_id": kindString,
	"clearance": kindString,
	"auth_time": kindNumber,
}

// principal builds the Principal of claims that key kid verified, through the issuer's claim
// mapping; its Subject is the issuer's subject claim (sub unless subject_claim says otherwise).
func (is *issuer) principal(c jwt.MapClaims, kid string) *Principal {
	p := &Principal{
		Kind:       "jwt",
		keyID:      kid,
		Issuer:     is.name,
		Claims:     map[string]any(c),
		Properties: mapClaims(c, is.claims),
	}
	p.Subject, _ = c[is.subjectClaim].(string)
	p.TokenID, _ = c["jti"].(string)
	if exp, _ := c.GetExpirationTime(); exp != nil {
		p.ExpiresAt = exp.Time
	}
	if iat, _ := c.GetIssuedAt(); iat != nil {
		p.IssuedAt = iat.Time
	}
	return p
}

// mapClaims builds subject properties from claims: property name → dotted claim path. A claim
// that is absent, or of a shape the property cannot take, leaves the property absent.
func mapClaims(c map[string]any, mapping map[string]string) map[string]any {
	props := make(map[string]any, len(mapping))
	for prop, path := range mapping {
		v, ok := lookupClaim(c, path)
		if !ok && prop == "scopes" && path == "scope" {
			// Okta and Entra ID carry scopes in scp; honour it when the default mapping misses.
			v, ok = c["scp"]
		}
		if !ok {
			continue
		}
		if v, ok = shape(v, propertyKinds[prop]); ok {
			props[prop] = v
		}
	}
	return props
}

// lookupClaim resolves a dotted path such as realm_access.roles. A claim whose own name contains
// dots (Auth0's https://example.com/roles) is found too: at each level the whole remaining path
// is tried as a key before splitting it.
func lookupClaim(m map[string]any, path string) (any, bool) {
	if v, ok := m[path]; ok {
		return v, true
	}
	for i := 0; i < len(path); i++ {
		if path[i] != '.' {
			continue
		}
		child, ok := m[path[:i]].(map[string]any)
		if !ok {
			continue
		}
		if v, ok := lookupClaim(child, path[i+1:]); ok {
			return v, true
		}
	}
	return nil, false
}

// shape converts a claim value to the form its property kind promises.
func shape(v any, kind propertyKind) (any, bool) {
	switch kind {
	case kindString:
		s, ok := v.(string)
		return s, ok
	case kindNumber:
		n, ok := v.(json.Number)
		return n, ok
	case kindStrings, kindScopes:
		var out []any
		switch t := v.(type) {
		case string:
			if kind == kindScopes {
				for _, f := range strings.Fields(t) {
					out = append(out, f)
				}
			} else if t != "" {
				out = append(out, t)
			}
		case []any:
			out = make([]any, 0, len(t))
			for _, e := range t {
				if s, ok := e.(string); ok {
					out = append(out, s)
				}
			}
		default:
			return nil, false
		}
		if out == nil {
			out = []any{}
		}
		return out, true
	}
	return v, true
}

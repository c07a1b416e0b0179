package token

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/verdict-pdp/verdict/pdp/config"
)

// BearerToken extracts the access token from the request's Authorization header as RFC 6750
// §2.1 describes: exactly one header, scheme "Bearer" in any case, one or more spaces, then one
// b64token. No header, an empty header or another scheme (Basic, DPoP) is ErrNoCredentials, so
// the caller answers with a bare Bearer challenge; two headers, an empty token or characters
// outside b64token are ErrInvalidRequest; a token longer than maxBytes is ErrInvalidToken and is
// refused before any other look at it. maxBytes <= 0 means config.DefaultMaxTokenBytes.
func BearerToken(h http.Header, maxBytes int) (string, error) {
	if maxBytes <= 0 {
		maxBytes = config.DefaultMaxTokenBytes
	}
	values := h.Values("Authorization")
	switch {
	case len(values) == 0:
		return "", ErrNoCredentials
	case len(values) > 1:
		return "", fmt.Errorf("%w: %d authorization headers", ErrInvalidRequest, len(values))
	}
	value := values[0]
	if strings.TrimSpace(value) == "" {
		return "", ErrNoCredentials
	}
	scheme, rest, _ := strings.Cut(value, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", ErrNoCredentials
	}
	raw := strings.TrimLeft(rest, " ")
	if len(raw) > maxBytes {
		return "", fmt.Errorf("%w: %w", ErrInvalidToken, ErrTokenTooLarge)
	}
	if raw == "" {
		return "", fmt.Errorf("%w: empty bearer token", ErrInvalidRequest)
	}
	if !isB64Token(raw) {
		return "", fmt.Errorf("%w: bearer token has characters outside b64token", ErrInvalidRequest)
	}
	return raw, nil
}

// isB64Token reports whether s matches RFC 6750's
// b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '.', c == '_', c == '~', c == '+', c == '/':
		default:
			return false
		}
	}
	return true
}

// QuoteParam quotes an auth-param value of a WWW-Authenticate challenge (RFC 9110 §5.6.4
// quoted-string).
func QuoteParam(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// ListClaim reads a list-valued claim or obligation member given as a space-separated string
// (as scope is) or as an array of strings; anything else is no list.
func ListClaim(v any) []string {
	switch v := v.(type) {
	case string:
		return strings.Fields(v)
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	default:
		return nil
	}
}

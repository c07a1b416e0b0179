package token

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/verdict-pdp/verdict/pdp/strictjson"
)

// forbiddenHeaders are JOSE header parameters Verdict refuses outright: crit names extensions
// it does not implement (RFC 7515 §4.1.11 requires refusing them); jku, x5u, jwk and x5c let a
// token suggest its own key; b64, cty, zip and enc belong to unencoded, nested, compressed or
// encrypted objects, none of which an access token is.
var forbiddenHeaders = []string{"crit", "jku", "x5u", "jwk", "x5c", "b64", "cty", "zip", "enc"}

// segmentEncoding is strict base64url without padding, as RFC 7515 requires; it refuses
// non-zero trailing bits, so one token has exactly one encoding.
var segmentEncoding = base64.RawURLEncoding.Strict()

// unverified is what routing needs from a token before any signature is checked: the header and
// the iss claim. Nothing here is trusted beyond choosing which issuer's keys to try.
type unverified struct {
	header map[string]any
	iss    string
	kid    string
	hasKID bool
}

// peek decodes the header and payload of a JWS compact serialization without verifying it.
// Refusing here (wrong shape, bad base64url, invalid UTF-8, duplicate member names, JSON that is
// not an object, trailing data) is cheap and keeps every later parser on well-formed input.
func peek(raw string) (*unverified, error) {
	headerSeg, payloadSeg, err := splitSegments(raw)
	if err != nil {
		return nil, err
	}
	u := &unverified{}
	if err := decodeSegment(headerSeg, &u.header); err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrMalformed, err)
	}
	var payload map[string]json.RawMessage
	if err := decodeSegment(payloadSeg, &payload); err != nil {
		return nil, fmt.Errorf("%w: payload: %w", ErrMalformed, err)
	}
	if u.header == nil || payload == nil {
		return nil, fmt.Errorf("%w: header and payload must be JSON objects", ErrMalformed)
	}
	if kid, ok := u.header["kid"]; ok {
		if u.kid, ok = kid.(string); !ok {
			return nil, fmt.Errorf("%w: kid is not a string", ErrMalformed)
		}
		u.hasKID = true
	}
	iss, ok := payload["iss"]
	if !ok {
		return nil, fmt.Errorf("%w: no iss claim", ErrUnknownIssuer)
	}
	if err := json.Unmarshal(iss, &u.iss); err != nil {
		return nil, fmt.Errorf("%w: iss is not a string", ErrClaim)
	}
	return u, nil
}

// splitSegments returns the header and payload segments of a JWS compact serialization; the
// signature segment is left alone.
func splitSegments(raw string) (header, payload string, err error) {
	if strings.Count(raw, ".") != 2 {
		return "", "", fmt.Errorf("%w: not three dot-separated segments", ErrMalformed)
	}
	header, rest, _ := strings.Cut(raw, ".")
	payload, _, _ = strings.Cut(rest, ".")
	return header, payload, nil
}

// Decode returns the header and claims of a JWS compact serialization without verifying
// anything, for an operator to read (verdict token inspect). Numbers are json.Number. The
// signature is neither checked nor returned.
func Decode(raw string) (header, claims map[string]any, err error) {
	headerSeg, payloadSeg, err := splitSegments(raw)
	if err != nil {
		return nil, nil, err
	}
	if header, err = decodeObject(headerSeg); err != nil {
		return nil, nil, fmt.Errorf("%w: header: %w", ErrMalformed, err)
	}
	if claims, err = decodeObject(payloadSeg); err != nil {
		return nil, nil, fmt.Errorf("%w: payload: %w", ErrMalformed, err)
	}
	return header, claims, nil
}

// decodeObject decodes one segment that must hold a JSON object, numbers as json.Number.
func decodeObject(seg string) (map[string]any, error) {
	data, err := segmentEncoding.DecodeString(seg)
	if err != nil {
		return nil, err
	}
	// strictjson.Check reads valid JSON only: malformed bytes are refused before it.
	if !json.Valid(data) {
		return nil, errors.New("not valid JSON")
	}
	if err := strictjson.Check(data, nil); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("not a JSON object")
	}
	return m, nil
}

func decodeSegment(seg string, into any) error {
	data, err := segmentEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, into); err != nil {
		return err
	}
	return strictjson.Check(data, nil)
}

// checkHeader applies the header rules that golang-jwt leaves to its caller: the typ the
// issuer requires and the parameters Verdict refuses.
func checkHeader(h map[string]any, requireTyp string) error {
	for _, name := range forbiddenHeaders {
		if _, ok := h[name]; ok {
			return fmt.Errorf("%w: %s", ErrHeader, name)
		}
	}
	if requireTyp == "" {
		return nil
	}
	typ, _ := h["typ"].(string)
	if !typMatches(typ, requireTyp) {
		return fmt.Errorf("%w: typ %q, want %q", ErrType, truncate(typ, 40), requireTyp)
	}
	return nil
}

// typMatches compares media types as RFC 7515 §4.1.9 and RFC 9068 §4 ask: case-insensitively,
// with an optional "application/" prefix.
func typMatches(got, want string) bool {
	return got != "" && strings.EqualFold(trimApplication(got), trimApplication(want))
}

func trimApplication(s string) string {
	const prefix = "application/"
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):]
	}
	return s
}

// truncate bounds a token-supplied string before it goes into an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

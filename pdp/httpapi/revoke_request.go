package httpapi

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/verdict-pdp/verdict/pdp/strictjson"
	"github.com/verdict-pdp/verdict/pdp/token"
)

// revocationRequest is the body of POST /v1/admin/revocations. Unknown fields are refused, so a
// misspelt not_before cannot silently become "now".
type revocationRequest struct {
	Issuer    string       `json:"iss"`
	TokenID   string       `json:"jti"`
	Subject   string       `json:"sub"`
	Expires   *numericDate `json:"exp"`
	NotBefore *numericDate `json:"not_before"`
}

// revocationShape is revocationRequest's members for strictjson. Read-only.
var revocationShape = strictjson.Shape{"iss": nil, "jti": nil, "sub": nil, "exp": nil, "not_before": nil}

// UnmarshalJSON decodes the request strictly.
func (req *revocationRequest) UnmarshalJSON(b []byte) error {
	type plain revocationRequest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode((*plain)(req)); err != nil {
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return badRequest("unknown field " + name + "; the fields are iss, jti, exp, sub and not_before")
		}
		return err
	}
	return nil
}

func (req *revocationRequest) validate(knownIssuer func(string) bool, now time.Time) error {
	switch {
	case req.Issuer == "":
		return badRequest("iss is required")
	case !knownIssuer(req.Issuer):
		return badRequest("iss is not a configured issuer")
	case (req.TokenID == "") == (req.Subject == ""):
		return badRequest("give exactly one of jti (one token) or sub (every token of a subject)")
	case req.TokenID != "" && req.NotBefore != nil:
		return badRequest("not_before applies to sub revocations; a jti revocation takes exp")
	case req.Subject != "" && req.Expires != nil:
		return badRequest("exp applies to jti revocations; a sub revocation takes not_before")
	case req.NotBefore != nil && req.NotBefore.Time().After(now.Add(maxNotBeforeAhead)):
		return badRequest("not_before must not be in the future")
	}
	return nil
}

// numericDate is a time given as JWT NumericDate seconds (fractions allowed) or as an RFC 3339
// string. Its range is not checked here: the revocation store refuses times outside
// token.MinTime to token.MaxTime, naming the field.
type numericDate time.Time

const numericDateProblem = "exp and not_before must be seconds since the epoch or RFC 3339 strings"

// UnmarshalJSON reads a number of seconds or an RFC 3339 string.
func (d *numericDate) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return badRequest(numericDateProblem)
		}
		*d = numericDate(t)
		return nil
	}
	var secs float64
	if err := json.Unmarshal(b, &secs); err != nil {
		return badRequest(numericDateProblem)
	}
	*d = numericDate(token.TimeOfSeconds(secs))
	return nil
}

// Time returns the instant, zero for a nil date.
func (d *numericDate) Time() time.Time {
	if d == nil {
		return time.Time{}
	}
	return time.Time(*d)
}

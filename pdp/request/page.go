package request

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
)

// defaultSearchLimit is the page size when a search names none; server.max_batch caps it.
const defaultSearchLimit = 50

// pageRequest is a validated page member: how many results at most, and the candidate key
// after which this page starts ("" for the first page).
type pageRequest struct {
	limit int
	after string
}

// pageWire is the page member of a search request. next_token is accepted as well as token,
// as drafts before AuthZEN 1.0 sent the token back under that name.
type pageWire struct {
	Token     *string      `json:"token"`
	NextToken *string      `json:"next_token"`
	Limit     *json.Number `json:"limit"`
}

// pageToken is the opaque page token: the last candidate examined and a fingerprint of the
// search, so a token is not replayed against a different search. Keying on the candidate
// rather than an offset keeps pages stable when a new bundle revision adds entities.
type pageToken struct {
	After       string `json:"a"`
	Fingerprint string `json:"f"`
}

// parsePage reads the page member against the search's fingerprint and the largest limit.
func parsePage(raw json.RawMessage, fingerprint string, maxLimit int) (pageRequest, error) {
	p := pageRequest{limit: min(defaultSearchLimit, maxLimit)}
	if IsAbsent(raw) {
		return p, nil
	}
	if !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		return p, Invalid("page must be a JSON object")
	}
	var w pageWire
	if err := decodeRaw(raw, &w); err != nil {
		return p, Invalid("page.token must be a string and page.limit a number")
	}
	if w.Limit != nil {
		n, err := strconv.Atoi(w.Limit.String())
		if err != nil || n < 1 {
			return p, Invalid("page.limit must be a positive integer")
		}
		p.limit = min(n, maxLimit)
	}
	tok := w.Token
	if tok == nil {
		tok = w.NextToken
	}
	if tok == nil || *tok == "" {
		return p, nil
	}
	var err error
	p.after, err = openPageToken(*tok, fingerprint)
	return p, err
}

func openPageToken(s, fingerprint string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	var t pageToken
	if err != nil || json.Unmarshal(b, &t) != nil || t.After == "" {
		return "", Invalid("page.token is not a token this server issued")
	}
	if t.Fingerprint != fingerprint {
		return "", Invalid("page.token belongs to a different search")
	}
	return t.After, nil
}

func sealPageToken(after, fingerprint string) string {
	b, _ := json.Marshal(pageToken{After: after, Fingerprint: fingerprint})
	return base64.RawURLEncoding.EncodeToString(b)
}

// fingerprint identifies the search apart from its page, properties and context: the kind
// and the types and ids of its members.
func (q *Search) fingerprint() string {
	in := q.base
	h := sha256.New()
	for _, part := range []string{string(q.kind), in.Subject.Type, in.Subject.ID, in.Action.Name, in.Resource.Type, in.Resource.ID} {
		fmt.Fprintf(h, "%d:%s;", len(part), part)
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

package token

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/verdict-pdp/verdict/pdp/strictjson"
)

// Well-known metadata paths: OpenID Connect Discovery 1.0 §4 and RFC 8414 §3.
const (
	oidcWellKnown  = "/.well-known/openid-configuration"
	oauthWellKnown = "/.well-known/oauth-authorization-server"
)

// errIssuerMismatch means a metadata document names an issuer other than the configured one.
var errIssuerMismatch = errors.New("metadata names another issuer")

// metadata is what Verdict reads of an OpenID Provider or RFC 8414 authorization server
// metadata document.
type metadata struct {
	Issuer  string `json:"issuer"`
	JWKSURI string `json:"jwks_uri"`
}

// metadataURLs returns where issuer's metadata may live, in the order they are tried: OIDC
// Discovery appends its well-known path to the issuer; RFC 8414 §3.1 inserts its own between
// the host and the issuer's path (the same URL as appending when the issuer has no path).
func metadataURLs(issuer string) ([]string, error) {
	if err := checkHTTPURL(issuer); err != nil {
		return nil, err
	}
	u, _ := url.Parse(issuer)
	oidc := strings.TrimSuffix(issuer, "/") + oidcWellKnown
	rfc8414 := *u
	rfc8414.Path = oauthWellKnown + strings.TrimSuffix(u.Path, "/")
	rfc8414.RawPath = ""
	return []string{oidc, rfc8414.String()}, nil
}

// discoverJWKS finds issuer's jwks_uri. A location that answers with something other than a
// usable document (404, not JSON, no jwks_uri) lets the next location be tried; a transport
// error stops (the other location is on the same host), and so does a document naming another
// issuer: OIDC Discovery §4.3 and RFC 8414 §3.3 require the issuer to match exactly, and a
// fallback must not paper over a mismatch.
func discoverJWKS(ctx context.Context, client *http.Client, issuer string, maxBytes int64) (string, error) {
	locations, err := metadataURLs(issuer)
	if err != nil {
		return "", err
	}
	var errs []error
	for _, loc := range locations {
		body, err := getJSON(ctx, client, loc, maxBytes)
		var status *statusError
		switch {
		case errors.As(err, &status) || errors.Is(err, errResponseTooLarge):
			errs = append(errs, fmt.Errorf("%s: %w", loc, err))
			continue
		case err != nil:
			return "", fmt.Errorf("%s: %w", loc, err)
		}
		jwksURI, err := readMetadata(body, issuer)
		if errors.Is(err, errIssuerMismatch) {
			return "", fmt.Errorf("%s: %w", loc, err)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", loc, err))
			continue
		}
		return jwksURI, nil
	}
	return "", fmt.Errorf("discovery: %w", errors.Join(errs...))
}

// readMetadata checks a metadata document against the configured issuer and returns its
// jwks_uri, which must be https unless the issuer itself is plain http (a test setup).
func readMetadata(body []byte, issuer string) (string, error) {
	var m metadata
	if err := decodeJSONObject(body, &m); err != nil {
		return "", fmt.Errorf("metadata: %w", err)
	}
	if m.Issuer != issuer {
		return "", fmt.Errorf("%w: %q, configured %q", errIssuerMismatch, truncate(m.Issuer, 200), issuer)
	}
	switch {
	case m.JWKSURI == "":
		return "", errors.New("metadata has no jwks_uri")
	case checkHTTPURL(m.JWKSURI) != nil:
		return "", fmt.Errorf("jwks_uri %q is not an http(s) URL", truncate(m.JWKSURI, 200))
	case plainHTTP(m.JWKSURI) && !plainHTTP(issuer):
		return "", fmt.Errorf("jwks_uri %q is plain http for an https issuer", truncate(m.JWKSURI, 200))
	}
	return m.JWKSURI, nil
}

// decodeJSONObject decodes a JSON document from a remote party with the checks tokens get:
// valid UTF-8, an object, no duplicate member names.
func decodeJSONObject(data []byte, into any) error {
	trimmed := strings.TrimSpace(string(data))
	if !strings.HasPrefix(trimmed, "{") {
		return errors.New("not a JSON object")
	}
	if err := json.Unmarshal(data, into); err != nil {
		return err
	}
	return strictjson.Check(data, nil)
}

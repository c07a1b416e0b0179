package token

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/verdict-pdp/verdict/pdp/redact"
)

// errResponseTooLarge marks a response body over its cap.
var errResponseTooLarge = errors.New("response too large")

// noRedirects returns a copy of client that never follows a redirect: an introspection POST
// carries credentials and a token, neither of which may go anywhere but the configured URL.
func noRedirects(client *http.Client) *http.Client {
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// getJSON fetches rawURL with GET and returns the body of a 200 answer, at most maxBytes long.
// The caller's context bounds the whole exchange, body included.
func getJSON(ctx context.Context, client *http.Client, rawURL string, maxBytes int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json, application/jwk-set+json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, redact.TransportError(err)
	}
	defer resp.Body.Close()
	body, err := readCapped(resp.Body, maxBytes)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &statusError{code: resp.StatusCode}
	}
	return body, nil
}

// statusError is an HTTP answer other than 200.
type statusError struct{ code int }

func (e *statusError) Error() string { return fmt.Sprintf("HTTP status %d", e.code) }

// readCapped reads all of r, failing with errResponseTooLarge past maxBytes.
func readCapped(r io.Reader, maxBytes int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > maxBytes {
		return nil, fmt.Errorf("%w: over %d bytes", errResponseTooLarge, maxBytes)
	}
	return data, nil
}

// isJSONContentType reports whether a Content-Type header names application/json, parameters
// (charset) allowed.
func isJSONContentType(header string) bool {
	mt, _, err := mime.ParseMediaType(header)
	return err == nil && mt == "application/json"
}

// checkHTTPURL fails unless raw is an absolute http or https URL with a host.
func checkHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", truncate(raw, 200))
	}
	return nil
}

// plainHTTP reports whether rawURL uses http rather than https, for loud warnings.
func plainHTTP(rawURL string) bool { return strings.HasPrefix(strings.ToLower(rawURL), "http:") }

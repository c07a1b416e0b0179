// Package client is the Go client of Verdict for services that ask it for decisions: the
// native API (Authorize, AuthorizeBatch), the AuthZEN 1.0 API (Evaluation, Evaluations) and a
// net/http middleware that enforces decisions fail-closed. It depends on the standard library
// only, so a service does not pull in OPA.
//
// Every call has a timeout and retries a 503 answer (no active policy, keys unreachable) a few
// times with exponential backoff, never past the caller's context. Other failures are returned
// at once as an *Error or as a transport error wrapping ErrUnavailable.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults of a Client.
const (
	DefaultTimeout = 2 * time.Second
	DefaultRetries = 2
	DefaultBackoff = 50 * time.Millisecond
	// maxResponseBytes bounds the answers the client reads.
	maxResponseBytes = 4 << 20
	// maxBackoff caps one wait between retries.
	maxBackoff = 2 * time.Second
)

// ErrUnavailable means Verdict could not be reached or answered 503: no decision was made.
// errors.Is(err, ErrUnavailable) holds for both.
var ErrUnavailable = errors.New("verdict unavailable")

// Error is an error answer from Verdict.
type Error struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Code is Verdict's stable error code (invalid_token, invalid_request, ...).
	Code    string
	Message string
	// RequestID joins the error to Verdict's log.
	RequestID string
	// Challenge is the WWW-Authenticate header of a 401 or 403.
	Challenge string
}

func (e *Error) Error() string {
	return fmt.Sprintf("verdict: %d %s: %s (request %s)", e.StatusCode, e.Code, e.Message, e.RequestID)
}

// Is makes a 503 answer match ErrUnavailable.
func (e *Error) Is(target error) bool {
	return target == ErrUnavailable && e.StatusCode == http.StatusServiceUnavailable
}

// Client calls one Verdict instance. It is safe for concurrent use.
type Client struct {
	base    *url.URL
	hc      *http.Client
	timeout time.Duration
	retries int
	backoff time.Duration
	// pepAuth authenticates AuthZEN calls (authzen.pep_auth api_key or jwt).
	pepAuth func(h http.Header)
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client, for TLS settings or a custom transport.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithTimeout bounds each call, retries included; zero or less keeps the default.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithRetries sets how many times a 503 answer is retried; 0 disables retries.
func WithRetries(n int) Option { return func(c *Client) { c.retries = max(0, n) } }

// WithBackoff sets the first wait before a retry; each next wait doubles, up to 2s.
func WithBackoff(d time.Duration) Option { return func(c *Client) { c.backoff = max(0, d) } }

// WithAPIKey authenticates AuthZEN calls with an API key (authzen.pep_auth: api_key).
func WithAPIKey(key string) Option {
	return func(c *Client) { c.pepAuth = func(h http.Header) { h.Set("X-API-Key", key) } }
}

// WithPEPToken authenticates AuthZEN calls with the PEP's own access token
// (authzen.pep_auth: jwt).
func WithPEPToken(token string) Option {
	return func(c *Client) { c.pepAuth = func(h http.Header) { h.Set("Authorization", "Bearer "+token) } }
}

// New returns a client of the Verdict at baseURL (http://127.0.0.1:8181).
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("client: base URL %q is not an http(s) URL", baseURL)
	}
	c := &Client{base: u, hc: http.DefaultClient, timeout: DefaultTimeout, retries: DefaultRetries, backoff: DefaultBackoff}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// call posts body as JSON to path and decodes a 200 answer into out, retrying 503s.
func (c *Client) call(ctx context.Context, path string, auth func(http.Header), body, out any) error {
	payload, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("client: encode request: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	wait := c.backoff
	for attempt := 0; ; attempt++ {
		err = c.once(ctx, path, auth, payload, out)
		var apiErr *Error
		if attempt >= c.retries || !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusServiceUnavailable {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, maxBackoff)
	}
}

// once makes one attempt.
func (c *Client) once(ctx context.Context, path string, auth func(http.Header), payload []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.String()+path, bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if auth != nil {
		auth(req.Header)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return fmt.Errorf("%w: read answer: %w", ErrUnavailable, err)
	}
	if resp.StatusCode != http.StatusOK {
		return errorFrom(resp, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("client: decode answer: %w", err)
	}
	return nil
}

// errorFrom reads Verdict's error body; a body it cannot read still gives the status.
func errorFrom(resp *http.Response, data []byte) *Error {
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		RequestID string `json:"request_id"`
	}
	_ = json.Unmarshal(data, &body)
	e := &Error{StatusCode: resp.StatusCode, Code: body.Error.Code, Message: body.Error.Message, RequestID: body.RequestID,
		Challenge: resp.Header.Get("WWW-Authenticate")}
	if e.RequestID == "" {
		e.RequestID = resp.Header.Get("X-Request-ID")
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}

// bearer authenticates a native call with the end user's token.
func bearer(token string) func(http.Header) {
	return func(h http.Header) { h.Set("Authorization", "Bearer "+token) }
}

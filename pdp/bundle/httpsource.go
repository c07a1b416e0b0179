package bundle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/verdict-pdp/verdict/pdp/redact"
)

// longPollContentType is how an OPA bundle server says it supports long polling (OPA's
// downloader uses the same test).
const longPollContentType = "application/vnd.openpolicyagent.bundles"

// httpSource downloads a bundle over http(s) following OPA's bundle service conventions:
// If-None-Match with the last ETag and 304 Not Modified, "Prefer: modes=snapshot" and, with
// long polling, "wait=N".
type httpSource struct {
	url      string
	display  string
	client   *http.Client
	token    string
	maxBytes int64
	timeout  time.Duration
	// longPoll is the wait asked for; 0 turns long polling off.
	longPoll time.Duration
	// onBytes counts downloaded bytes.
	onBytes func(n int)

	// etag is the ETag of the archive last returned (activated or refused), sent as
	// If-None-Match; prevETag the one before, restored by retry.
	etag, prevETag string
	// serverLongPolls is what the server last said about long polling.
	serverLongPolls bool
}

func newHTTPSource(rawURL string, client *http.Client, token string, maxBytes int64, timeout, longPoll time.Duration, onBytes func(int)) *httpSource {
	return &httpSource{
		url: rawURL, display: redact.URL(rawURL), client: client, token: token, maxBytes: maxBytes,
		timeout: timeout, longPoll: longPoll, onBytes: onBytes,
		// As OPA does: ask for a long poll at once, and stop when the server's answer shows it
		// does not support it.
		serverLongPolls: longPoll > 0,
	}
}

func (s *httpSource) String() string { return s.display }

func (s *httpSource) kind() string { return KindURL }

func (s *httpSource) longPolling() bool { return s.longPoll > 0 && s.serverLongPolls }

func (s *httpSource) retry() { s.etag = s.prevETag }

// resume sets the ETag to send, for a bundle persisted by an earlier run.
func (s *httpSource) resume(etag string) {
	if s.etag == "" {
		s.etag, s.prevETag = etag, etag
	}
}

func (s *httpSource) fetch(ctx context.Context) (*fetched, error) {
	timeout := s.timeout
	wait := s.longPolling()
	if wait {
		timeout += s.longPoll
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := s.do(ctx, wait)
	if err != nil {
		return nil, fmt.Errorf("%w: GET %s: %w", ErrSource, s.display, redact.TransportError(err))
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotModified:
		return nil, nil
	case http.StatusOK:
	default:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, fmt.Errorf("%w: GET %s: HTTP %d", ErrSource, s.display, resp.StatusCode)
	}
	if s.longPoll > 0 {
		s.serverLongPolls = resp.Header.Get("Content-Type") == longPollContentType
	}
	etag := resp.Header.Get("ETag")
	raw, err := s.readBody(resp)
	if errors.Is(err, ErrTooLarge) {
		// Refused content: remember its ETag so it is not downloaded again until it changes.
		s.prevETag, s.etag = s.etag, etag
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("%w: GET %s: %w", ErrSource, s.display, err)
	}
	s.prevETag, s.etag = s.etag, etag
	return &fetched{raw: raw, etag: etag}, nil
}

func (s *httpSource) do(ctx context.Context, wait bool) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, err
	}
	if s.etag != "" {
		req.Header.Set("If-None-Match", s.etag)
	}
	prefer := "modes=snapshot"
	if wait {
		prefer += ";wait=" + strconv.FormatInt(int64(s.longPoll/time.Second), 10)
	}
	req.Header.Set("Prefer", prefer)
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	return s.client.Do(req)
}

// readBody reads at most maxBytes, refusing a declared or actual larger body with ErrTooLarge.
func (s *httpSource) readBody(resp *http.Response) ([]byte, error) {
	if resp.ContentLength > s.maxBytes {
		return nil, fmt.Errorf("%w: download is %d bytes, over the limit of %d bytes", ErrTooLarge, resp.ContentLength, s.maxBytes)
	}
	raw, err := readAllLimited(resp.Body, s.maxBytes)
	s.onBytes(len(raw))
	if err != nil {
		return nil, err
	}
	return raw, nil
}

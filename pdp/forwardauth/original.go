package forwardauth

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// The headers that carry the original method and URI: nginx's verdict-auth.conf sets the
// X-Original-* pair, Traefik's forwardAuth the X-Forwarded-* pair.
const (
	headerOriginalMethod  = "X-Original-Method"
	headerOriginalURI     = "X-Original-URI"
	headerForwardedMethod = "X-Forwarded-Method"
	headerForwardedURI    = "X-Forwarded-Uri"
)

// originalRequest is the request the proxy asks about. segments are the path's segments, each
// percent-decoded on its own; path is the decoded path, for the policy's context.
type originalRequest struct {
	method, path, host, ip string
	segments               []string
}

// claim is what one source (a header, or Envoy's check request) says about the original
// method or URI; "" when that source is absent.
type claim struct{ source, value string }

// readOriginal finds the original request: nginx sends X-Original-Method and X-Original-URI,
// Traefik X-Forwarded-Method and X-Forwarded-Uri, Envoy the method and the path itself (below
// /v1/forward-auth over HTTP, in the check request's attributes over gRPC). Proxies pass the
// client's own headers along, so another convention's headers may be the client's: every
// source present must agree, and a header sent twice is refused, or the client could choose
// what is checked.
func readOriginal(req Request) (originalRequest, error) {
	h, err := singleHeaders(req.Header, headerOriginalMethod, headerOriginalURI, headerForwardedMethod, headerForwardedURI)
	if err != nil {
		return originalRequest{}, err
	}
	method, err := agreed("method", claim{headerOriginalMethod, h[0]}, claim{headerForwardedMethod, h[2]},
		claim{"the check request", req.Method})
	if err != nil {
		return originalRequest{}, err
	}
	uri, err := agreed("URI", claim{headerOriginalURI, h[1]}, claim{headerForwardedURI, h[3]},
		claim{"the check request's path", req.URI})
	if err != nil {
		return originalRequest{}, err
	}
	if method == "" {
		method = req.DefaultMethod
	}
	o := originalRequest{
		method: strings.ToUpper(method),
		host:   firstHeader(req.Header, "X-Forwarded-Host", "X-Original-Host"),
		ip:     clientIP(req.Header),
	}
	if o.host == "" {
		o.host = req.Host
	}
	if o.ip == "" {
		o.ip = req.Peer
	}
	if uri == "" {
		return o, fmt.Errorf("%w: the proxy sent no original URI", ErrAccessDenied)
	}
	if o.segments, err = splitOriginal(uri); err != nil {
		return o, err
	}
	o.path = "/" + strings.Join(o.segments, "/")
	return o, nil
}

// singleHeaders returns the value of each named header, "" when absent. A header sent more
// than once is refused: which copy the proxy set and which the client sent cannot be told.
func singleHeaders(h http.Header, names ...string) ([]string, error) {
	values := make([]string, len(names))
	for i, n := range names {
		switch vs := h.Values(n); len(vs) {
		case 0:
		case 1:
			values[i] = vs[0]
		default:
			return nil, fmt.Errorf("%w: %s sent %d times", ErrAccessDenied, n, len(vs))
		}
	}
	return values, nil
}

// agreed is the value that every claim with a value shares, or "" when none has one. Two
// different values mean one of them came from the client: refuse rather than pick.
func agreed(field string, claims ...claim) (string, error) {
	var first claim
	for _, c := range claims {
		switch {
		case c.value == "":
		case first.value == "":
			first = c
		case c.value != first.value:
			return "", fmt.Errorf("%w: conflicting original %s: %s says %q, %s says %q",
				ErrAccessDenied, field, first.source, first.value, c.source, c.value)
		}
	}
	return first.value, nil
}

// splitOriginal splits the path of an original URI on its raw slashes and percent-decodes each
// segment on its own, as an upstream that routes on the raw path does. Segments an upstream
// could read differently are refused rather than interpreted: an encoded slash
// (record-4%2F..%2Frecord-1 is one segment to the upstream, three after decoding), a dot
// segment, raw or encoded (resolved by some upstreams and not by others), a backslash, raw or
// encoded (a separator to some upstreams), and an invalid escape.
func splitOriginal(uri string) ([]string, error) {
	p, _, _ := strings.Cut(uri, "?")
	if !strings.HasPrefix(p, "/") {
		return nil, fmt.Errorf("%w: the original URI %q is not an absolute path", ErrAccessDenied, uri)
	}
	raw := strings.Split(p[1:], "/")
	segs := make([]string, len(raw))
	for i, s := range raw {
		seg, err := url.PathUnescape(s)
		switch {
		case err != nil:
			return nil, fmt.Errorf("%w: invalid percent-encoding in the original path segment %q", ErrAccessDenied, s)
		case seg == "." || seg == "..":
			return nil, fmt.Errorf("%w: dot segment %q in the original path", ErrAccessDenied, s)
		case strings.Contains(seg, "/"):
			return nil, fmt.Errorf("%w: encoded slash in the original path segment %q", ErrAccessDenied, s)
		case strings.Contains(seg, `\`):
			return nil, fmt.Errorf("%w: backslash in the original path segment %q (a separator to some upstreams)", ErrAccessDenied, s)
		}
		segs[i] = seg
	}
	return segs, nil
}

// clientIP is the first address of X-Forwarded-For (the client as the first proxy saw it), or
// X-Real-IP; "" when neither is sent. Only as trustworthy as the proxy that sets it: see docs/api.md.
func clientIP(h http.Header) string {
	if xff := h.Get("X-Forwarded-For"); xff != "" {
		first, _, _ := strings.Cut(xff, ",")
		return strings.TrimSpace(first)
	}
	return h.Get("X-Real-IP")
}

func firstHeader(h http.Header, names ...string) string {
	for _, n := range names {
		if v := h.Get(n); v != "" {
			return v
		}
	}
	return ""
}

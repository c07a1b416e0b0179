package httpapi

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
// forwardAuthPath). Both nginx and Traefik (unless told otherwise) pass the client's own
// headers along, so the other convention's headers may be the client's: every source present
// must agree, and a header sent twice is refused, or the client could choose what is checked.
func readOriginal(r *http.Request) (originalRequest, error) {
	h, err := singleHeaders(r, headerOriginalMethod, headerOriginalURI, headerForwardedMethod, headerForwardedURI)
	if err != nil {
		return originalRequest{}, err
	}
	envoyMethod, envoyURI := envoyTarget(r)
	method, err := agreed("method", claim{headerOriginalMethod, h[0]}, claim{headerForwardedMethod, h[2]},
		claim{"the check request", envoyMethod})
	if err != nil {
		return originalRequest{}, err
	}
	uri, err := agreed("URI", claim{headerOriginalURI, h[1]}, claim{headerForwardedURI, h[3]},
		claim{"the check request's path", envoyURI})
	if err != nil {
		return originalRequest{}, err
	}
	if method == "" {
		method = r.Method
	}
	o := originalRequest{
		method: strings.ToUpper(method),
		host:   firstHeader(r, "X-Forwarded-Host", "X-Original-Host"),
		ip:     clientIP(r),
	}
	if o.host == "" {
		o.host = r.Host
	}
	if uri == "" {
		return o, fmt.Errorf("%w: the proxy sent no original URI", errAccessDenied)
	}
	if o.segments, err = splitOriginal(uri); err != nil {
		return o, err
	}
	o.path = "/" + strings.Join(o.segments, "/")
	return o, nil
}

// singleHeaders returns the value of each named header, "" when absent. A header sent more
// than once is refused: which copy the proxy set and which the client sent cannot be told.
func singleHeaders(r *http.Request, names ...string) ([]string, error) {
	values := make([]string, len(names))
	for i, n := range names {
		switch vs := r.Header.Values(n); len(vs) {
		case 0:
		case 1:
			values[i] = vs[0]
		default:
			return nil, fmt.Errorf("%w: %s sent %d times", errAccessDenied, n, len(vs))
		}
	}
	return values, nil
}

// envoyTarget is the original method and URI of an Envoy check request, whose path is the
// original one appended to forwardAuthPath, or "" when the path is forwardAuthPath itself.
// The URI is taken raw, as sent, so that encoded slashes stay what they are.
func envoyTarget(r *http.Request) (method, uri string) {
	raw := r.RequestURI
	if !strings.HasPrefix(raw, "/") {
		raw = r.URL.RequestURI() // a request built in Go, or an absolute-form target
	}
	rest, ok := strings.CutPrefix(raw, forwardAuthPath+"/")
	if !ok {
		return "", ""
	}
	return r.Method, "/" + rest
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
				errAccessDenied, field, first.source, first.value, c.source, c.value)
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
		return nil, fmt.Errorf("%w: the original URI %q is not an absolute path", errAccessDenied, uri)
	}
	raw := strings.Split(p[1:], "/")
	segs := make([]string, len(raw))
	for i, s := range raw {
		seg, err := url.PathUnescape(s)
		switch {
		case err != nil:
			return nil, fmt.Errorf("%w: invalid percent-encoding in the original path segment %q", errAccessDenied, s)
		case seg == "." || seg == "..":
			return nil, fmt.Errorf("%w: dot segment %q in the original path", errAccessDenied, s)
		case strings.Contains(seg, "/"):
			return nil, fmt.Errorf("%w: encoded slash in the original path segment %q", errAccessDenied, s)
		case strings.Contains(seg, `\`):
			return nil, fmt.Errorf("%w: backslash in the original path segment %q (a separator to some upstreams)", errAccessDenied, s)
		}
		segs[i] = seg
	}
	return segs, nil
}

// clientIP is the first address of X-Forwarded-For (the client as the first proxy saw it), or
// X-Real-IP. Only as trustworthy as the proxy that sets it: see docs/api.md.
func clientIP(r *http.Request) string {
	if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
		first, _, _ := strings.Cut(xff, ",")
		return strings.TrimSpace(first)
	}
	return r.Header.Get("X-Real-IP")
}

func firstHeader(r *http.Request, names ...string) string {
	for _, n := range names {
		if v := r.Header.Get(n); v != "" {
			return v
		}
	}
	return ""
}

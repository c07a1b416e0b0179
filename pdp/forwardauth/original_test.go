package forwardauth

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// TestReadOriginal pins what each refusal is refused for, which the status alone (403 for all)
// cannot show, and what an accepted original request reads as.
func TestReadOriginal(t *testing.T) {
	tests := []struct {
		name    string
		method  string // of the check request; GET when empty
		uri     string // the check request's original URI (Envoy's path); none when empty
		headers []string
		want    string // method and segments joined by "|", when accepted
		err     string // a part of the refusal, when refused
	}{
		{name: "nginx", method: "POST", headers: []string{"X-Original-Method", "put", "X-Original-URI", "/a/b?x=1"}, want: "PUT|a|b"},
		{name: "traefik", headers: []string{"X-Forwarded-Method", "PUT", "X-Forwarded-Uri", "/a/b"}, want: "PUT|a|b"},
		{name: "envoy", method: "PUT", uri: "/a/b?x=1", want: "PUT|a|b"},
		{name: "no method header: the check request's", method: "HEAD", headers: []string{"X-Original-URI", "/a"}, want: "HEAD|a"},
		{name: "root", headers: []string{"X-Original-URI", "/"}, want: "GET|"},
		{name: "trailing slash kept for matchRoute", headers: []string{"X-Original-URI", "/a/"}, want: "GET|a|"},
		{name: "segments decoded one by one", headers: []string{"X-Original-URI", "/a%20b/c%3Fd/%25"}, want: "GET|a b|c?d|%"},
		{name: "envoy: encoded slash stays raw", method: "GET", uri: "/a%2Fb", err: `encoded slash in the original path segment "a%2Fb"`},
		{name: "both conventions agree", headers: []string{"X-Original-Method", "GET", "X-Original-URI", "/a",
			"X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/a"}, want: "GET|a"},
		{name: "envoy and a header agree", method: "PUT", uri: "/a?x=1",
			headers: []string{"X-Original-Method", "PUT", "X-Original-URI", "/a?x=1"}, want: "PUT|a"},

		{name: "methods disagree", headers: []string{"X-Original-Method", "GET", "X-Forwarded-Method", "PUT", "X-Original-URI", "/a"},
			err: `conflicting original method: X-Original-Method says "GET", X-Forwarded-Method says "PUT"`},
		{name: "URIs disagree", headers: []string{"X-Forwarded-Uri", "/a", "X-Original-URI", "/b"},
			err: `conflicting original URI: X-Original-URI says "/b", X-Forwarded-Uri says "/a"`},
		{name: "URIs differ in the query only", headers: []string{"X-Forwarded-Uri", "/a?x=1", "X-Original-URI", "/a"},
			err: "conflicting original URI"},
		{name: "methods differ in case only", headers: []string{"X-Original-Method", "get", "X-Forwarded-Method", "GET", "X-Original-URI", "/a"},
			err: "conflicting original method"},
		{name: "envoy method and a header disagree", method: "PUT", uri: "/a",
			headers: []string{"X-Original-Method", "GET"}, err: `the check request says "PUT"`},
		{name: "envoy path and a header disagree", uri: "/a", headers: []string{"X-Forwarded-Uri", "/b"},
			err: `the check request's path says "/a"`},
		{name: "X-Original-Method twice", headers: []string{"X-Original-Method", "GET", "X-Original-Method", "GET", "X-Original-URI", "/a"},
			err: "X-Original-Method sent 2 times"},
		{name: "X-Original-URI twice", headers: []string{"X-Original-URI", "/a", "X-Original-URI", "/b"}, err: "X-Original-URI sent 2 times"},
		{name: "X-Forwarded-Method twice", headers: []string{"X-Forwarded-Method", "GET", "X-Forwarded-Method", "PUT",
			"X-Forwarded-Uri", "/a"}, err: "X-Forwarded-Method sent 2 times"},
		{name: "X-Forwarded-Uri twice", headers: []string{"X-Forwarded-Uri", "/a", "X-Forwarded-Uri", "/a"}, err: "X-Forwarded-Uri sent 2 times"},
		{name: "no URI", headers: []string{"X-Original-Method", "GET"}, err: "no original URI"},

		{name: "encoded slash", headers: []string{"X-Original-URI", "/records/record-4%2F..%2Frecord-1"},
			err: `encoded slash in the original path segment "record-4%2F..%2Frecord-1"`},
		{name: "encoded slash, lower case", headers: []string{"X-Original-URI", "/a%2fb"}, err: "encoded slash"},
		{name: "dot-dot", headers: []string{"X-Original-URI", "/a/../b"}, err: `dot segment ".."`},
		{name: "encoded backslash", headers: []string{"X-Original-URI", `/records/record-4%5C..%5Crecord-1`}, err: "backslash"},
		{name: "backslash", headers: []string{"X-Original-URI", `/records/record-4\record-1`}, err: "backslash"},
		{name: "dot", headers: []string{"X-Original-URI", "/a/./b"}, err: `dot segment "."`},
		{name: "trailing dot-dot", headers: []string{"X-Original-URI", "/a/.."}, err: "dot segment"},
		{name: "encoded dot-dot", headers: []string{"X-Original-URI", "/a/%2e%2e/b"}, err: `dot segment "%2e%2e"`},
		{name: "encoded dot-dot, upper case", headers: []string{"X-Original-URI", "/a/%2E%2E/b"}, err: "dot segment"},
		{name: "half-encoded dot-dot", headers: []string{"X-Original-URI", "/a/.%2e/b"}, err: "dot segment"},
		{name: "encoded dot", headers: []string{"X-Original-URI", "/a/%2e/b"}, err: "dot segment"},
		{name: "dots in a query are not segments", headers: []string{"X-Original-URI", "/a?next=/../b"}, want: "GET|a"},
		{name: "three dots are a name", headers: []string{"X-Original-URI", "/a/..."}, want: "GET|a|..."},
		{name: "invalid escape", headers: []string{"X-Original-URI", "/a%zz"}, err: `invalid percent-encoding in the original path segment "a%zz"`},
		{name: "truncated escape", headers: []string{"X-Original-URI", "/a%2"}, err: "invalid percent-encoding"},
		{name: "not a path", headers: []string{"X-Original-URI", "http://app/a"}, err: "not an absolute path"},
		{name: "asterisk form", headers: []string{"X-Original-URI", "*"}, err: "not an absolute path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := Request{DefaultMethod: "GET", Header: http.Header{}}
			if tt.method != "" {
				req.DefaultMethod = tt.method
			}
			if tt.uri != "" {
				req.Method, req.URI = req.DefaultMethod, tt.uri
			}
			for i := 0; i+1 < len(tt.headers); i += 2 {
				req.Header.Add(tt.headers[i], tt.headers[i+1])
			}
			o, err := readOriginal(req)
			if tt.err != "" {
				if !errors.Is(err, ErrAccessDenied) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want access denied with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(append([]string{o.method}, o.segments...), "|"); got != tt.want {
				t.Errorf("read %q, want %q", got, tt.want)
			}
			if want := "/" + strings.Join(o.segments, "/"); o.path != want {
				t.Errorf("path %q, want %q", o.path, want)
			}
		})
	}
}

// FuzzSplitOriginal checks what route matching relies on: an accepted path has one segment per
// raw slash, none holding a slash or being a dot segment, and re-encoding its segments reads
// back the same; anything refused is an access denial.
func FuzzSplitOriginal(f *testing.F) {
	for _, seed := range []string{"/", "/records/record-1?x=1", "/records/record-4%2F..%2Frecord-1", "/a/%2e%2e/b",
		"/a/.%2E", "/a%zz", "/a//b/", "*", "/a%20b/c%3Fd/%25"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		segs, err := splitOriginal(uri)
		if err != nil {
			if !errors.Is(err, ErrAccessDenied) {
				t.Fatalf("error %v is not an access denial", err)
			}
			return
		}
		p, _, _ := strings.Cut(uri, "?")
		if len(segs) != strings.Count(p, "/") {
			t.Fatalf("%q: %d segments for %d slashes", uri, len(segs), strings.Count(p, "/"))
		}
		encoded := make([]string, len(segs))
		for i, s := range segs {
			if strings.Contains(s, "/") || s == "." || s == ".." {
				t.Fatalf("%q: accepted segment %q", uri, s)
			}
			encoded[i] = url.PathEscape(s)
		}
		again, err := splitOriginal("/" + strings.Join(encoded, "/"))
		if err != nil || !slices.Equal(again, segs) {
			t.Fatalf("%q: re-encoded reads %q (%v), want %q", uri, again, err, segs)
		}
	})
}

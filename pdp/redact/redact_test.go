package redact

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "nothing to drop", in: "https://bundles.example/v/b.tar.gz", want: "https://bundles.example/v/b.tar.gz"},
		{name: "user info", in: "https://user:secret@bundles.example/b.tar.gz", want: "https://bundles.example/b.tar.gz"},
		{name: "presigned query and fragment", in: "https://s3.example/b.tar.gz?X-Amz-Signature=secret#x", want: "https://s3.example/b.tar.gz"},
		{name: "token in the query", in: "http://127.0.0.1:8282/bundles/verdict.tar.gz?token=secret", want: "http://127.0.0.1:8282/bundles/verdict.tar.gz"},
		{name: "unparsable", in: "https://secret@[::1", want: "(unparsable URL)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := URL(tt.in); got != tt.want || strings.Contains(got, "secret") {
				t.Errorf("URL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestTransportError(t *testing.T) {
	inner := errors.New("connection refused")
	wrapped := &url.Error{Op: "Get", URL: "https://idp.example/jwks?api_key=secret", Err: inner}
	if got := TransportError(wrapped); got != inner {
		t.Errorf("TransportError(url.Error) = %v, want the inner error", got)
	}
	if got := TransportError(fmt.Errorf("fetch: %w", wrapped)); got != inner {
		t.Errorf("TransportError(wrapped url.Error) = %v, want the inner error", got)
	}
	other := errors.New("HTTP status 500")
	if got := TransportError(other); got != other {
		t.Errorf("TransportError(%v) = %v, want it unchanged", other, got)
	}
}

// Package redact turns values that may carry credentials into forms safe for log lines and
// error messages. The bundle downloader and the token package's key, discovery and
// introspection clients all name operator-configured URLs in their logs and errors; they
// redact them here so that what counts as a secret in a URL is decided once.
package redact

import (
	"errors"
	"net/url"
)

// URL returns raw without user info, query and fragment, which may hold credentials
// (https://user:password@host, presigned object store URLs carry their signature in the
// query, some IdPs take an API key there). A URL that does not parse is replaced whole, since
// its parts cannot be told apart.
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

// TransportError returns err without the request line a *url.Error (what net/http's Client.Do
// fails with) repeats: the method and the full URL, credentials and query included. The caller
// names the URL itself, redacted.
func TransportError(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err
	}
	return err
}

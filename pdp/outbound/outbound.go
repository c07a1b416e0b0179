// Package outbound builds the HTTP client Verdict uses for its own outbound calls: key sets,
// discovery, introspection and bundle downloads. Each call carries its own deadline, so the
// client sets none; what it adds is a redirect policy that never downgrades https to http,
// since a key set or bundle fetched over a downgraded hop could be substituted on the path.
package outbound

import (
	"fmt"
	"net/http"
)

// MaxRedirects is how many redirects one call follows.
const MaxRedirects = 3

// NewClient returns a client over a clone of the default transport (proxy from the
// environment, TLS, keep-alive) with CheckRedirect set to CheckRedirect.
func NewClient() *http.Client {
	return &http.Client{
		Transport:     http.DefaultTransport.(*http.Transport).Clone(),
		CheckRedirect: CheckRedirect,
	}
}

// CheckRedirect follows at most MaxRedirects redirects and refuses one from https to any
// other scheme.
func CheckRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= MaxRedirects {
		return fmt.Errorf("stopped after %d redirects", MaxRedirects)
	}
	if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
		return fmt.Errorf("redirect from https to %s refused", req.URL.Scheme)
	}
	return nil
}

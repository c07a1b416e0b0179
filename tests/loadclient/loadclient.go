// Package loadclient sends the requests of Verdict's load generators (tests/load for
// `make load`, `make load-extauthz` and `make token-memory`, tests/benchload for
// `make bench-load`): one POST /v1/authorize with a bearer token, one forward-auth check over
// HTTP (Envoy's HTTP ext_authz convention) or one over gRPC ext_authz, each answer read to
// the end so the connection is reused.
package loadclient

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
)

// Authorize posts body to url with token as the bearer token and fails on anything but a 200.
func Authorize(ctx context.Context, client *http.Client, url, token string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	return send(client, req, token)
}

// ForwardAuth asks url, /v1/forward-auth with the original path appended (as Envoy's HTTP
// ext_authz does), whether GET of that path may pass with token, and fails on anything but a
// 200.
func ForwardAuth(ctx context.Context, client *http.Client, url, token string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	return send(client, req, token)
}

func send(client *http.Client, req *http.Request, token string) error {
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// Check asks the gRPC ext_authz API whether GET of path may pass with token, as Envoy's gRPC
// ext_authz filter does, and fails on anything but an allow.
func Check(ctx context.Context, client authv3.AuthorizationClient, path, token string) error {
	resp, err := client.Check(ctx, &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Method: http.MethodGet, Path: path, Host: "app.test",
			Headers: map[string]string{"authorization": "Bearer " + token},
		}},
	}})
	if err != nil {
		return err
	}
	if resp.GetOkResponse() == nil {
		return fmt.Errorf("denied: HTTP %d", resp.GetDeniedResponse().GetStatus().GetCode())
	}
	return nil
}

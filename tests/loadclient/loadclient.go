// Package loadclient sends the requests of Verdict's load generators (tests/load for
// `make load` and `make token-memory`, tests/benchload for `make bench-load`): one
// POST /v1/authorize with a bearer token, its answer read to the end so the connection is
// reused.
package loadclient

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
)

// Authorize posts body to url with token as the bearer token and fails on anything but a 200.
func Authorize(ctx context.Context, client *http.Client, url, token string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
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

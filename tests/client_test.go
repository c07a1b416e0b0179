package tests

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/verdict-pdp/verdict/pdp/client"
)

// TestClient drives the running binary through pdp/client: native decisions and batches for
// an end user's token, and AuthZEN calls authenticated with a PEP API key.
func TestClient(t *testing.T) {
	sum := sha256.Sum256([]byte("pep-secret"))
	inst, is := startStandard(t, "authzen: {pep_auth: api_key, api_keys_sha256: ["+hex.EncodeToString(sum[:])+"]}")
	c, err := client.New(inst.URL, client.WithAPIKey("pep-secret"), client.WithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	alice := is.sign(t, is.claims("alice", nil))
	record := func(id, status string) client.Resource {
		return client.Resource{Type: "record", ID: id, Properties: map[string]any{"status": status}}
	}

	t.Run("Authorize", func(t *testing.T) {
		d, err := c.Authorize(ctx, alice, client.Request{Action: client.Action{Name: "write"}, Resource: record("record-1", "active")})
		if err != nil || !d.Allow || d.DecisionID == "" || d.Revision != "standard-1" {
			t.Fatalf("decision %+v, error %v", d, err)
		}
		d, err = c.Authorize(ctx, alice, client.Request{Action: client.Action{Name: "write"}, Resource: record("record-2", "archived")})
		if err != nil || d.Allow {
			t.Fatalf("archived write: decision %+v, error %v", d, err)
		}
	})
	t.Run("Authorize with a bad token", func(t *testing.T) {
		_, err := c.Authorize(ctx, alice+"x", client.Request{Action: client.Action{Name: "read"}, Resource: record("record-1", "active")})
		var apiErr *client.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Code != "invalid_token" ||
			!strings.Contains(apiErr.Challenge, `error="invalid_token"`) || apiErr.RequestID == "" {
			t.Fatalf("error %#v", err)
		}
	})
	t.Run("AuthorizeBatch", func(t *testing.T) {
		reqs := []client.Request{
			{Action: client.Action{Name: "read"}, Resource: record("record-1", "active")},
			{Action: client.Action{Name: "write"}, Resource: record("record-2", "archived")},
			{Action: client.Action{Name: "read"}, Resource: record("record-3", "active")},
		}
		all, err := c.AuthorizeBatch(ctx, alice, reqs, client.ExecuteAll)
		if err != nil || len(all) != 3 || !all[0].Allow || all[1].Allow || !all[2].Allow {
			t.Fatalf("execute_all: %+v, %v", all, err)
		}
		first, err := c.AuthorizeBatch(ctx, alice, reqs, client.DenyOnFirstDeny)
		if err != nil || len(first) != 2 || first[1].Allow {
			t.Fatalf("deny_on_first_deny: %+v, %v", first, err)
		}
		if all[0].DecisionID == all[2].DecisionID {
			t.Error("batch items share a decision id")
		}
	})
	t.Run("Evaluations", func(t *testing.T) {
		res, err := c.Evaluations(ctx, client.EvaluationsRequest{
			Evaluation: client.Evaluation{Subject: &client.Subject{Type: "user", ID: "bob"}, Resource: &client.Resource{Type: "record", ID: "record-1"}},
			Evaluations: []client.Evaluation{
				{Action: &client.Action{Name: "write"}}, {Action: &client.Action{Name: "read"}}, {Action: &client.Action{Name: "read"}},
			},
			Semantic: client.PermitOnFirstPermit,
		})
		if err != nil || len(res) != 2 || res[0].Decision || !res[1].Decision {
			t.Fatalf("results %+v, error %v", res, err)
		}
		one, err := c.Evaluation(ctx, client.Evaluation{Subject: &client.Subject{Type: "user", ID: "alice"},
			Action: &client.Action{Name: "read"}, Resource: &client.Resource{Type: "record", ID: "record-4"}})
		if err != nil || one.Decision {
			t.Fatalf("hidden record: %+v, %v", one, err)
		}
	})
	t.Run("AuthZEN without the API key", func(t *testing.T) {
		bare, _ := client.New(inst.URL)
		_, err := bare.Evaluation(ctx, client.Evaluation{})
		var apiErr *client.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
			t.Fatalf("error %v", err)
		}
	})
}

// TestClientMiddleware protects a small service with the middleware in front of the running
// binary: allow, deny, step-up, no token, and Verdict down.
func TestClientMiddleware(t *testing.T) {
	inst, is := startStandard(t, "")
	mapper := func(r *http.Request) (client.Request, error) {
		action := map[string]string{http.MethodGet: "read", http.MethodPut: "write", http.MethodPost: "approve"}[r.Method]
		if action == "" {
			return client.Request{}, errors.New("unmapped method")
		}
		return client.Request{Action: client.Action{Name: action},
			Resource: client.Resource{Type: "record", ID: r.PathValue("id"), Properties: map[string]any{"status": "active"}}}, nil
	}
	service := func(base string) *httptest.Server {
		c, err := client.New(base, client.WithTimeout(2*time.Second), client.WithRetries(1))
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.Handle("/records/{id}", c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			d, _ := client.DecisionFrom(r.Context())
			w.Write([]byte("record " + r.PathValue("id") + " " + d.DecisionID))
		}), mapper))
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		return srv
	}
	svc := service(inst.URL)
	alice := is.sign(t, is.claims("alice", nil))
	bob := is.sign(t, is.claims("bob", nil))
	mfa := is.sign(t, is.claims("alice", map[string]any{"acr": "urn:verdict:mfa"}))
	tests := []struct {
		name      string
		method    string
		token     string
		status    int
		challenge string
	}{
		{name: "allowed", method: "GET", token: alice, status: 200},
		{name: "denied", method: "PUT", token: bob, status: 403},
		{name: "step-up", method: "POST", token: alice, status: 401,
			challenge: `error="insufficient_user_authentication", acr_values="urn:verdict:mfa", max_age="300"`},
		{name: "stepped up", method: "POST", token: mfa, status: 200},
		{name: "no token", method: "GET", status: 401, challenge: `Bearer realm="verdict"`},
		{name: "bad token", method: "GET", token: alice + "x", status: 401, challenge: `error="invalid_token"`},
		{name: "unmapped", method: "DELETE", token: alice, status: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var headers []string
			if tt.token != "" {
				headers = bearer(tt.token)
			}
			resp := do(t, tt.method, svc.URL+"/records/record-1", nil, headers...)
			if resp.Status != tt.status || !strings.Contains(resp.Header.Get("WWW-Authenticate"), tt.challenge) {
				t.Fatalf("status %d (want %d), WWW-Authenticate %q, body %s", resp.Status, tt.status, resp.Header.Get("WWW-Authenticate"), resp.Body)
			}
			if tt.status == 200 && !strings.HasPrefix(string(resp.Body), "record record-1 ") {
				t.Errorf("body %s", resp.Body)
			}
		})
	}
	t.Run("Verdict down", func(t *testing.T) {
		down := service("http://" + freeAddr(t))
		if resp := do(t, http.MethodGet, down.URL+"/records/record-1", nil, bearer(alice)...); resp.Status != 503 {
			t.Errorf("status %d with Verdict down", resp.Status)
		}
	})
}

package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// checkAnswer is what a proxy learns from one forward-auth check, on either transport.
type checkAnswer struct {
	status     int
	challenge  string
	reason     string
	subject    string
	decisionID string
}

// startGRPC starts the standard instance with server.grpc_addr and the other server keys in
// serverKeys (", key: value" each), and returns a gRPC ext_authz client and a health client.
func startGRPC(t *testing.T, serverKeys string) (*instance, *issuer, authv3.AuthorizationClient, healthpb.HealthClient) {
	t.Helper()
	addr := freeAddr(t)
	inst, is := startStandard(t, "server: {grpc_addr: '"+addr+"'"+serverKeys+"}")
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return inst, is, authv3.NewAuthorizationClient(conn), healthpb.NewHealthClient(conn)
}

// checkHTTP asks /v1/forward-auth as Envoy's HTTP ext_authz does: the original path below it.
func checkHTTP(t *testing.T, inst *instance, method, path string, headers []string) checkAnswer {
	t.Helper()
	resp := do(t, method, inst.URL+"/v1/forward-auth"+path, nil, headers...)
	return checkAnswer{status: resp.Status, challenge: resp.Header.Get("WWW-Authenticate"),
		reason: resp.Header.Get("X-Verdict-Reason"), subject: resp.Header.Get("X-Verdict-Subject"),
		decisionID: resp.Header.Get("X-Verdict-Decision-Id")}
}

// checkGRPC asks the gRPC ext_authz API as Envoy does with encode_raw_headers: every header
// copy in header_map, lower-cased.
func checkGRPC(t *testing.T, client authv3.AuthorizationClient, method, path string, headers []string) checkAnswer {
	t.Helper()
	hm := &corev3.HeaderMap{}
	for i := 0; i+1 < len(headers); i += 2 {
		hm.Headers = append(hm.Headers, &corev3.HeaderValue{Key: strings.ToLower(headers[i]), RawValue: []byte(headers[i+1])})
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	resp, err := client.Check(ctx, &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Method: method, Path: path, Host: "app.test", HeaderMap: hm,
		}},
	}})
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	var a checkAnswer
	var opts []*corev3.HeaderValueOption
	if ok := resp.GetOkResponse(); ok != nil {
		if codes.Code(resp.GetStatus().GetCode()) != codes.OK {
			t.Errorf("an OK response with status %v", resp.GetStatus())
		}
		a.status, opts = http.StatusOK, ok.GetHeaders()
	} else {
		d := resp.GetDeniedResponse()
		a.status, opts = int(d.GetStatus().GetCode()), d.GetHeaders()
	}
	for _, o := range opts {
		switch v := o.GetHeader().GetValue(); o.GetHeader().GetKey() {
		case "WWW-Authenticate":
			a.challenge = v
		case "X-Verdict-Reason":
			a.reason = v
		case "X-Verdict-Subject":
			a.subject = v
		case "X-Verdict-Decision-Id":
			a.decisionID = v
		}
	}
	if got := resp.GetDynamicMetadata().GetFields()["decision_id"].GetStringValue(); got != a.decisionID {
		t.Errorf("metadata decision_id %q, header %q", got, a.decisionID)
	}
	return a
}

// TestExtAuthzBothTransports runs the forward-auth cases of tests/forwardauth_test.go over
// Envoy's HTTP ext_authz convention and over gRPC ext_authz against one instance: each must
// get the same status, challenge, reason and subject on both.
func TestExtAuthzBothTransports(t *testing.T) {
	inst, is, client, _ := startGRPC(t, "")
	alice := is.sign(t, is.claims("alice", nil))
	aliceMFA := is.sign(t, is.claims("alice", map[string]any{"acr": "urn:verdict:mfa"}))
	bob := is.sign(t, is.claims("bob", nil))
	stepUp := `Bearer realm="verdict", error="insufficient_user_authentication", ` +
		`error_description="a stronger or more recent authentication is required", acr_values="urn:verdict:mfa", max_age="300"`
	tests := []struct {
		name      string
		method    string
		path      string
		token     string
		headers   []string
		status    int
		challenge string // a part of WWW-Authenticate
		reason    string
		decision  bool
	}{
		{name: "allow", method: "GET", path: "/records/record-1?view=full", token: alice, status: 200, decision: true},
		{name: "no token", method: "GET", path: "/records/record-1", status: 401, challenge: `Bearer realm="verdict"`},
		{name: "bad token", method: "GET", path: "/records/record-1", token: alice + "x", status: 401,
			challenge: `error="invalid_token"`},
		{name: "no token before a bad path", method: "GET", path: "/records/./record-1", status: 401, challenge: `Bearer realm="verdict"`},
		{name: "step-up", method: "POST", path: "/records/record-1/approve", token: alice, status: 401, challenge: stepUp, decision: true},
		{name: "stepped-up approval", method: "POST", path: "/records/record-1/approve", token: aliceMFA, status: 200, decision: true},
		{name: "deny", method: "PUT", path: "/records/record-1", token: bob, status: 403, reason: "denied", decision: true},
		{name: "hidden record", method: "GET", path: "/records/record-4", token: alice, status: 403, reason: "denied", decision: true},
		{name: "no route", method: "GET", path: "/admin", token: alice, status: 403, reason: "no-route"},
		{name: "no route for the method", method: "DELETE", path: "/records/record-1", token: alice, status: 403, reason: "no-route"},
		{name: "encoded slashes with dot segments", method: "GET", path: "/records/record-1/..%2F..%2Fadmin", token: alice,
			status: 403, reason: "refused"},
		{name: "encoded slash", method: "GET", path: "/records/record-4%2F..%2Frecord-1", token: alice, status: 403, reason: "refused"},
		{name: "dot-dot segment", method: "GET", path: "/records/record-4/../record-1", token: alice, status: 403, reason: "refused"},
		{name: "encoded dot-dot segment", method: "GET", path: "/records/record-4/%2e%2e/record-1", token: alice, status: 403,
			reason: "refused"},
		{name: "dot segment", method: "GET", path: "/records/./record-1", token: alice, status: 403, reason: "refused"},
		{name: "encoded character decoded", method: "GET", path: "/records/record%2D1", token: alice, status: 200, decision: true},
		{name: "a client's X-Original-URI", method: "GET", path: "/records/record-4", token: alice,
			headers: []string{"X-Original-URI", "/records/record-1"}, status: 403, reason: "refused"},
		{name: "a client's X-Original-Method", method: "PUT", path: "/records/record-2", token: alice,
			headers: []string{"X-Original-Method", "GET"}, status: 403, reason: "refused"},
		{name: "X-Forwarded-Uri twice", method: "GET", path: "/records/record-1", token: alice,
			headers: []string{"X-Forwarded-Uri", "/records/record-1", "X-Forwarded-Uri", "/records/record-1"}, status: 403, reason: "refused"},
		{name: "two Authorization headers", method: "GET", path: "/records/record-1",
			headers: []string{"Authorization", "Bearer " + alice, "Authorization", "Bearer " + bob}, status: 400,
			challenge: `error="invalid_request"`},
	}
	for _, tt := range tests {
		headers := tt.headers
		if tt.token != "" {
			headers = append(bearer(tt.token), headers...)
		}
		for _, tr := range []struct {
			name  string
			check func() checkAnswer
		}{
			{"http", func() checkAnswer { return checkHTTP(t, inst, tt.method, tt.path, headers) }},
			{"grpc", func() checkAnswer { return checkGRPC(t, client, tt.method, tt.path, headers) }},
		} {
			t.Run(tt.name+"/"+tr.name, func(t *testing.T) {
				a := tr.check()
				if a.status != tt.status {
					t.Fatalf("status %d, want %d", a.status, tt.status)
				}
				if !strings.Contains(a.challenge, tt.challenge) || (a.challenge == "") != (tt.challenge == "") {
					t.Errorf("WWW-Authenticate %q, want %q", a.challenge, tt.challenge)
				}
				if a.reason != tt.reason {
					t.Errorf("X-Verdict-Reason %q, want %q", a.reason, tt.reason)
				}
				if (a.decisionID != "") != tt.decision {
					t.Errorf("decision id %q, want one: %v", a.decisionID, tt.decision)
				}
				if want := map[bool]string{true: "alice"}[tt.status == 200]; a.subject != want {
					t.Errorf("X-Verdict-Subject %q, want %q", a.subject, want)
				}
			})
		}
	}
}

// TestExtAuthzHealth: the gRPC health service answers SERVING for the server and for the
// Authorization service, as Envoy's and Kubernetes' gRPC health checks ask.
func TestExtAuthzHealth(t *testing.T) {
	_, _, _, health := startGRPC(t, "")
	for _, svc := range []string{"", "envoy.service.auth.v3.Authorization"} {
		resp, err := health.Check(t.Context(), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health of %q: %v, %v", svc, resp.GetStatus(), err)
		}
	}
}

// TestExtAuthzDryRun: with server.grpc_dry_run a request the policy denies is let through
// (OK, no subject header, the would-be status in the metadata), and the decision log records
// the real decision, a deny, under the gRPC method and the proxy's X-Request-ID.
func TestExtAuthzDryRun(t *testing.T) {
	inst, is, client, _ := startGRPC(t, ", grpc_dry_run: true")
	alice := is.sign(t, is.claims("alice", nil))
	resp, err := client.Check(t.Context(), &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Method: "GET", Path: "/records/record-4", Host: "app.test",
			Headers: map[string]string{"authorization": "Bearer " + alice, "x-request-id": "dry-run-1"},
		}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ok := resp.GetOkResponse()
	meta := resp.GetDynamicMetadata().GetFields()
	if ok == nil || meta["dry_run_status"].GetNumberValue() != 403 {
		t.Fatalf("dry run answer %v", resp)
	}
	for _, h := range ok.GetHeaders() {
		if h.GetHeader().GetKey() == "X-Verdict-Subject" {
			t.Errorf("a dry-run allow sets X-Verdict-Subject")
		}
	}
	rec := waitDecision(t, inst, "dry-run-1")
	result, _ := rec["result"].(map[string]any)
	extras, _ := rec["verdict"].(map[string]any)
	if result["allow"] != false || extras["api"] != "/envoy.service.auth.v3.Authorization/Check" ||
		rec["decision_id"] != meta["decision_id"].GetStringValue() {
		t.Errorf("decision log record %v", rec)
	}
}

// waitDecision returns the decision log record with requestID, waiting for the asynchronous
// log to be written.
func waitDecision(t *testing.T, inst *instance, requestID string) map[string]any {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		f, err := os.Open(filepath.Join(inst.Dir, "decisions.log"))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var rec map[string]any
			if json.Unmarshal(sc.Bytes(), &rec) != nil {
				continue
			}
			if extras, _ := rec["verdict"].(map[string]any); extras["request_id"] == requestID {
				f.Close()
				return rec
			}
		}
		f.Close()
	}
	t.Fatalf("no decision logged with request id %q", requestID)
	return nil
}

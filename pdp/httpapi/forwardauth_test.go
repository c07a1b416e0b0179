package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/verdict-pdp/verdict/pdp/forwardauth"
)

func TestForwardAuth(t *testing.T) {
	s := newTestServer(t, nil)
	nginx := func(method, uri string) []string {
		return []string{"X-Original-Method", method, "X-Original-URI", uri}
	}
	traefik := func(method, uri string) []string {
		return []string{"X-Forwarded-Method", method, "X-Forwarded-Uri", uri, "X-Forwarded-Host", "app.test",
			"X-Forwarded-For", "203.0.113.7, 10.0.0.1"}
	}
	with := func(tok string, h []string) []string { return append([]string{"Authorization", "Bearer " + tok}, h...) }
	tests := []struct {
		name      string
		method    string
		path      string
		headers   []string
		status    int
		challenge string
	}{
		{name: "nginx: read allowed", path: forwardAuthPath, headers: with("alice-token", nginx("GET", "/records/record-1?x=1")), status: 200},
		{name: "nginx: HEAD maps like GET", path: forwardAuthPath, headers: with("alice-token", nginx("HEAD", "/records/record-1")), status: 200},
		{name: "nginx: write denied", path: forwardAuthPath, headers: with("bob-token", nginx("PUT", "/records/record-1")), status: 403},
		{name: "nginx: directory properties apply", path: forwardAuthPath, headers: with("alice-token", nginx("PUT", "/records/record-2")),
			status: 403},
		{name: "nginx: hidden record", path: forwardAuthPath, headers: with("alice-token", nginx("GET", "/records/record-4")), status: 403},
		{name: "nginx: step-up", path: forwardAuthPath, headers: with("alice-token", nginx("POST", "/records/record-1/approve")),
			status: 401, challenge: `Bearer realm="verdict", error="insufficient_user_authentication", ` +
				`error_description="a stronger or more recent authentication is required", acr_values="urn:verdict:mfa", max_age="300"`},
		{name: "nginx: step-up done", path: forwardAuthPath, headers: with("alice-mfa-token", nginx("POST", "/records/record-1/approve")),
			status: 200},
		{name: "no token", path: forwardAuthPath, headers: nginx("GET", "/records/record-1"), status: 401, challenge: `Bearer realm="verdict"`},
		{name: "bad token", path: forwardAuthPath, headers: with("forged", nginx("GET", "/records/record-1")), status: 401,
			challenge: `error="invalid_token"`},
		{name: "no route matches", path: forwardAuthPath, headers: with("alice-token", nginx("GET", "/admin")), status: 403},
		{name: "method not in the route", path: forwardAuthPath, headers: with("alice-token", nginx("DELETE", "/records/record-1")), status: 403},
		{name: "nginx: an encoded character in a segment is decoded", path: forwardAuthPath,
			headers: with("alice-token", nginx("GET", "/records/record%2D1")), status: 200},
		// Each of these reads as record-1 once decoded and cleaned, which alice may read; the
		// upstream sees another path (record-4/../record-1 as one id, or unresolved dots).
		{name: "encoded slash is refused, not split", path: forwardAuthPath,
			headers: with("alice-token", nginx("GET", "/records/record-4%2F..%2Frecord-1")), status: 403},
		{name: "encoded slash in a lower-case escape", path: forwardAuthPath,
			headers: with("alice-token", nginx("GET", "/records/record-4%2f..%2frecord-1")), status: 403},
		{name: "dot-dot segment", path: forwardAuthPath, headers: with("alice-token", nginx("GET", "/records/record-4/../record-1")),
			status: 403},
		{name: "dot segment", path: forwardAuthPath, headers: with("alice-token", nginx("GET", "/records/./record-1")), status: 403},
		{name: "encoded dot-dot segment", path: forwardAuthPath,
			headers: with("alice-token", nginx("GET", "/records/record-4/%2e%2e/record-1")), status: 403},
		{name: "half-encoded dot-dot segment", path: forwardAuthPath,
			headers: with("alice-token", nginx("GET", "/records/record-4/.%2E/record-1")), status: 403},
		{name: "invalid escape", path: forwardAuthPath, headers: with("alice-token", nginx("GET", "/records/record-1%zz")), status: 403},
		{name: "empty segment fills no placeholder", path: forwardAuthPath,
			headers: with("alice-token", nginx("GET", "/records//record-1")), status: 403},
		{name: "no original URI", path: forwardAuthPath, headers: with("alice-token", nil), status: 403},
		{name: "traefik: read allowed", path: forwardAuthPath, headers: with("alice-token", traefik("GET", "/records/record-3")), status: 200},
		{name: "traefik: write denied", path: forwardAuthPath, headers: with("bob-token", traefik("PUT", "/records/record-3")), status: 403},
		// Proxies pass the client's headers: a client behind Traefik adds nginx's headers, one
		// behind nginx adds Traefik's. Before, bob's PUT was checked as the GET he may do.
		{name: "traefik: a client's X-Original-* that disagree", path: forwardAuthPath,
			headers: with("bob-token", append(traefik("PUT", "/records/record-1"), nginx("GET", "/records/record-1")...)), status: 403},
		{name: "traefik: a client's X-Original-Method alone", path: forwardAuthPath,
			headers: with("bob-token", append(traefik("PUT", "/records/record-1"), "X-Original-Method", "GET")), status: 403},
		{name: "traefik: a client's X-Original-URI alone", path: forwardAuthPath,
			headers: with("alice-token", append(traefik("GET", "/records/record-4"), "X-Original-URI", "/records/record-1")), status: 403},
		{name: "nginx: a client's X-Forwarded-* that disagree", path: forwardAuthPath,
			headers: with("bob-token", append(nginx("PUT", "/records/record-1"), "X-Forwarded-Method", "GET",
				"X-Forwarded-Uri", "/records/record-1")), status: 403},
		{name: "nginx: a client's X-Forwarded-Uri alone", path: forwardAuthPath,
			headers: with("alice-token", append(nginx("GET", "/records/record-4"), "X-Forwarded-Uri", "/records/record-1")), status: 403},
		{name: "both conventions agreeing", path: forwardAuthPath,
			headers: with("alice-token", append(nginx("GET", "/records/record-1"), traefik("GET", "/records/record-1")...)), status: 200},
		{name: "X-Original-Method twice", path: forwardAuthPath,
			headers: with("bob-token", append(nginx("PUT", "/records/record-1"), "X-Original-Method", "GET")), status: 403},
		{name: "X-Original-URI twice", path: forwardAuthPath,
			headers: with("alice-token", append(nginx("GET", "/records/record-4"), "X-Original-URI", "/records/record-1")), status: 403},
		{name: "X-Forwarded-Method twice", path: forwardAuthPath,
			headers: with("bob-token", append(traefik("PUT", "/records/record-1"), "X-Forwarded-Method", "GET")), status: 403},
		{name: "X-Forwarded-Uri twice", path: forwardAuthPath,
			headers: with("alice-token", append(traefik("GET", "/records/record-4"), "X-Forwarded-Uri", "/records/record-1")), status: 403},
		{name: "envoy: read allowed", method: "GET", path: forwardAuthPath + "/records/record-1?q=1", headers: with("alice-token", nil), status: 200},
		{name: "envoy: write denied", method: "PUT", path: forwardAuthPath + "/records/record-1", headers: with("bob-token", nil), status: 403},
		{name: "envoy: step-up", method: "POST", path: forwardAuthPath + "/records/record-1/approve", headers: with("alice-token", nil),
			status: 401, challenge: `error="insufficient_user_authentication"`},
		// The router must not clean the path (and answer 301 to the cleaned one) before
		// forward auth refuses it.
		{name: "envoy: encoded dot segments", method: "GET", path: forwardAuthPath + "/records/record-4%2F..%2Frecord-1",
			headers: with("alice-token", nil), status: 403},
		{name: "envoy: dot segment", method: "GET", path: forwardAuthPath + "/records/../records/record-1",
			headers: with("alice-token", nil), status: 403},
		{name: "envoy: encoded slash", method: "GET", path: forwardAuthPath + "/records/record-1%2Fx",
			headers: with("alice-token", nil), status: 403},
		{name: "envoy: a client's method header that disagrees", method: "PUT", path: forwardAuthPath + "/records/record-1",
			headers: with("bob-token", []string{"X-Original-Method", "GET"}), status: 403},
		{name: "envoy: a client's URI header that disagrees", method: "GET", path: forwardAuthPath + "/records/record-4",
			headers: with("alice-token", []string{"X-Forwarded-Uri", "/records/record-1"}), status: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			rec := sendAdding(s, method, tt.path, tt.headers...)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			if got := rec.Header().Get("WWW-Authenticate"); !strings.Contains(got, tt.challenge) || (tt.challenge == "") != (got == "") {
				t.Errorf("WWW-Authenticate %q, want %q", got, tt.challenge)
			}
			if sub := rec.Header().Get(forwardauth.HeaderSubject); (tt.status == 200) != (sub != "") {
				t.Errorf("%s %q on status %d", forwardauth.HeaderSubject, sub, tt.status)
			}
			if tt.status == 200 && len(rec.Header().Get(forwardauth.HeaderDecisionID)) != 32 {
				t.Errorf("%s %q", forwardauth.HeaderDecisionID, rec.Header().Get(forwardauth.HeaderDecisionID))
			}
		})
	}
}

// sendAdding is send with each header added rather than set, so a table row can send one twice.
func sendAdding(h http.Handler, method, target string, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestMalformedRouteTable fails closed when data.verdict.routes has the wrong shape, without
// breaking AuthZEN, and keeps the verdict for the snapshot's lifetime.
func TestMalformedRouteTable(t *testing.T) {
	s := newTestServerWith(t, nil, map[string]string{"data.json": `{"verdict": {"routes": [
		{"methods": ["GET"], "path": "no-slash", "action": "read", "resource_type": "record"}]}}`})
	rec := send(t, s, http.MethodGet, forwardAuthPath, "", "Authorization", "Bearer alice-token",
		"X-Original-Method", "GET", "X-Original-URI", "/records/record-1")
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("forward auth with a malformed route table: status %d", rec.Code)
	}
	if rec := send(t, s, http.MethodPost, pathEvaluation, tuple(alice, read, record1)); rec.Code != 200 {
		t.Errorf("AuthZEN with a malformed route table: status %d", rec.Code)
	}
}

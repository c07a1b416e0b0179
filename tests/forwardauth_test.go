package tests

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nginxBin finds nginx in PATH or at the Debian location.
func nginxBin(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	t.Skip("nginx is not installed (apt-get install nginx-light); the forward-auth test needs a real nginx")
	return ""
}

// nginxMainDirectives are the main-context directives that keep a test's nginx in the
// foreground with its pid file and error log in dir.
func nginxMainDirectives(dir string) string {
	return fmt.Sprintf("daemon off;\nmaster_process off;\npid %[1]s/nginx.pid;\nerror_log %[1]s/error.log info;\n", dir)
}

// nginxHTTPDirectives are the http-context directives that keep a test's nginx's access log and
// temporary files in dir.
func nginxHTTPDirectives(dir string) string {
	return fmt.Sprintf(`
    access_log %[1]s/access.log;
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
`, dir)
}

// startNginx runs nginx in the foreground from a temporary prefix, with auth_request pointed
// at verdict through the example snippets in deploy/nginx, in front of upstream. It returns
// nginx's base URL.
func startNginx(t *testing.T, verdictURL, upstreamURL string) string {
	t.Helper()
	dir := t.TempDir()
	deploy, err := filepath.Abs("../deploy/nginx")
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	conf := nginxMainDirectives(dir) + fmt.Sprintf(`
events { worker_connections 64; }
http {
    %[1]s
    upstream verdict { server %[2]s; }
    upstream app { server %[3]s; }
    server {
        listen %[4]s;
        include %[5]s/verdict-auth.conf;
        location / {
            include %[5]s/verdict-protect.conf;
            proxy_pass http://app;
        }
    }
}
`, nginxHTTPDirectives(dir), strings.TrimPrefix(verdictURL, "http://"), strings.TrimPrefix(upstreamURL, "http://"), addr, deploy)
	return runNginx(t, dir, conf, addr)
}

// writeNginxConf writes conf to dir/nginx.conf and checks it with `nginx -t`.
func writeNginxConf(t *testing.T, dir, conf string) string {
	t.Helper()
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(nginxBin(t), "-t", "-p", dir, "-c", path, "-e", filepath.Join(dir, "error.log")).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t refuses the configuration: %v\n%s\n%s", err, out, conf)
	}
	return path
}

// runNginx checks conf with `nginx -t`, runs it from the prefix dir until the test ends and
// returns the base URL once nginx accepts connections on addr, where conf listens.
func runNginx(t *testing.T, dir, conf, addr string) string {
	t.Helper()
	path := writeNginxConf(t, dir, conf)
	cmd := exec.Command(nginxBin(t), "-p", dir, "-c", path, "-e", filepath.Join(dir, "error.log"))
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			logs, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx output:\n%s\nerror.log:\n%s", out.String(), logs)
		}
	})
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "http://" + addr
		}
		if cmd.ProcessState != nil {
			break
		}
	}
	logs, _ := os.ReadFile(filepath.Join(dir, "error.log"))
	t.Fatalf("nginx did not start on %s:\n%s\n%s", addr, out.String(), logs)
	return ""
}

// TestForwardAuthNginx puts a real nginx with auth_request in front of a small upstream and
// shows Verdict's answers reaching the client: 200 with the subject passed upstream, 401 with
// a challenge (no token, step-up), and 403 (deny, no route, a path the upstream could read
// otherwise). The client's own X-Original-* and X-Forwarded-Method/Uri headers change nothing.
func TestForwardAuthNginx(t *testing.T) {
	inst, is := startStandard(t, "")
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "upstream %s %s as %s (%s)", r.Method, r.URL.RequestURI(),
			r.Header.Get("X-Verdict-Subject"), r.Header.Get("X-Verdict-Decision-Id"))
	}))
	defer upstream.Close()
	proxy := startNginx(t, inst.URL, upstream.URL)

	alice := is.sign(t, is.claims("alice", nil))
	aliceMFA := is.sign(t, is.claims("alice", map[string]any{"acr": "urn:verdict:mfa"}))
	bob := is.sign(t, is.claims("bob", nil))
	tests := []struct {
		name      string
		method    string
		path      string
		token     string
		headers   []string
		status    int
		body      string // a prefix of the body for 200s
		challenge string
	}{
		{name: "allowed read reaches the upstream", method: "GET", path: "/records/record-1?view=full", token: alice,
			status: 200, body: "upstream GET /records/record-1?view=full as alice ("},
		{name: "a forged subject header is replaced", method: "GET", path: "/records/record-3", token: alice,
			headers: []string{"X-Verdict-Subject", "admin"}, status: 200, body: "upstream GET /records/record-3 as alice ("},
		{name: "no token is 401 with a challenge", method: "GET", path: "/records/record-1", status: 401,
			challenge: `Bearer realm="verdict"`},
		{name: "bad token is 401 invalid_token", method: "GET", path: "/records/record-1", token: alice + "x", status: 401,
			challenge: `error="invalid_token"`},
		{name: "step-up is 401 with the RFC 9470 challenge", method: "POST", path: "/records/record-1/approve", token: alice,
			status: 401, challenge: `error="insufficient_user_authentication", ` +
				`error_description="a stronger or more recent authentication is required", acr_values="urn:verdict:mfa", max_age="300"`},
		{name: "stepped-up approval reaches the upstream", method: "POST", path: "/records/record-1/approve", token: aliceMFA,
			status: 200, body: "upstream POST /records/record-1/approve as alice ("},
		{name: "deny is 403", method: "PUT", path: "/records/record-1", token: bob, status: 403},
		{name: "hidden record is 403", method: "GET", path: "/records/record-4", token: alice, status: 403},
		{name: "no route rule is 403", method: "GET", path: "/admin", token: alice, status: 403},
		{name: "encoded slashes with dot segments are refused", method: "GET", path: "/records/record-1/..%2F..%2Fadmin", token: alice,
			status: 403},
		// Each reads as record-1, which alice may read, once decoded and cleaned; the upstream
		// sees record-4/../record-1 as one id, or resolves the dots itself, or not.
		{name: "an encoded slash is not a separator", method: "GET", path: "/records/record-4%2F..%2Frecord-1", token: alice, status: 403},
		{name: "a dot-dot segment is refused", method: "GET", path: "/records/record-4/../record-1", token: alice, status: 403},
		{name: "an encoded dot-dot segment is refused", method: "GET", path: "/records/record-4/%2e%2e/record-1", token: alice,
			status: 403},
		{name: "a dot segment is refused", method: "GET", path: "/records/./record-1", token: alice, status: 403},
		{name: "an encoded character is decoded", method: "GET", path: "/records/record%2D1", token: alice, status: 200,
			body: "upstream GET /records/record%2D1 as alice ("},
		{name: "the client's X-Original-* are replaced by nginx's", method: "GET", path: "/records/record-1", token: alice,
			headers: []string{"X-Original-Method", "PUT", "X-Original-URI", "/records/record-4"}, status: 200,
			body: "upstream GET /records/record-1 as alice ("},
		{name: "the client's X-Forwarded-Method and -Uri are dropped", method: "PUT", path: "/records/record-1", token: bob,
			headers: []string{"X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/records/record-1"}, status: 403},
		{name: "dropped, they cause no conflict either", method: "GET", path: "/records/record-1", token: alice,
			headers: []string{"X-Forwarded-Method", "PUT", "X-Forwarded-Uri", "/records/record-4"}, status: 200,
			body: "upstream GET /records/record-1 as alice ("},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			headers := tt.headers
			if tt.token != "" {
				headers = append(headers, bearer(tt.token)...)
			}
			resp := do(t, tt.method, proxy+tt.path, nil, headers...)
			if resp.Status != tt.status {
				t.Fatalf("status %d, want %d; body %s", resp.Status, tt.status, resp.Body)
			}
			if got := resp.Header.Get("WWW-Authenticate"); !strings.Contains(got, tt.challenge) || (got == "") != (tt.challenge == "") {
				t.Errorf("WWW-Authenticate %q, want %q", got, tt.challenge)
			}
			if !strings.HasPrefix(string(resp.Body), tt.body) {
				t.Errorf("body %q, want prefix %q", resp.Body, tt.body)
			}
		})
	}
}

// TestForwardAuthProxyHeaders checks the Traefik and Envoy conventions directly, with the
// headers a client could add when the proxy passes its headers along.
func TestForwardAuthProxyHeaders(t *testing.T) {
	inst, is := startStandard(t, "")
	alice := is.sign(t, is.claims("alice", nil))
	tests := []struct {
		name    string
		method  string
		path    string
		headers []string
		status  int
	}{
		{name: "traefik allow", method: "GET", path: "/v1/forward-auth",
			headers: []string{"X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/records/record-1", "X-Forwarded-Host", "app.test"}, status: 200},
		{name: "traefik deny", method: "GET", path: "/v1/forward-auth",
			headers: []string{"X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/records/record-4"}, status: 403},
		{name: "traefik with a client's X-Original-URI", method: "GET", path: "/v1/forward-auth",
			headers: []string{"X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/records/record-4", "X-Original-URI", "/records/record-1"},
			status:  403},
		{name: "traefik with a client's X-Original-Method", method: "GET", path: "/v1/forward-auth",
			headers: []string{"X-Forwarded-Method", "PUT", "X-Forwarded-Uri", "/records/record-2", "X-Original-Method", "GET"},
			status:  403},
		{name: "traefik with X-Forwarded-Uri twice", method: "GET", path: "/v1/forward-auth",
			headers: []string{"X-Forwarded-Uri", "/records/record-1", "X-Forwarded-Uri", "/records/record-1"}, status: 403},
		{name: "traefik with an encoded slash", method: "GET", path: "/v1/forward-auth",
			headers: []string{"X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/records/record-4%2F..%2Frecord-1"}, status: 403},
		{name: "envoy allow", method: "GET", path: "/v1/forward-auth/records/record-1", status: 200},
		{name: "envoy no route", method: "DELETE", path: "/v1/forward-auth/records/record-1", status: 403},
		{name: "envoy with a client's X-Original-URI", method: "GET", path: "/v1/forward-auth/records/record-4",
			headers: []string{"X-Original-URI", "/records/record-1"}, status: 403},
		{name: "envoy with an encoded slash", method: "GET", path: "/v1/forward-auth/records/record-1%2Fx", status: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(t, tt.method, inst.URL+tt.path, nil, append(bearer(alice), tt.headers...)...)
			if resp.Status != tt.status {
				t.Fatalf("status %d, want %d; body %s", resp.Status, tt.status, resp.Body)
			}
			if tt.status == 200 && (resp.Header.Get("X-Verdict-Subject") != "alice" || resp.Header.Get("X-Verdict-Decision-Id") == "") {
				t.Errorf("headers %v", resp.Header)
			}
		})
	}
}

// TestForwardAuthReason: a 403 says why in X-Verdict-Reason and its JSON message, for the
// proxy's logs (nginx passes only the status to the client): the policy denied it (with the
// decision id), no route rule matched (no decision), or the original request was refused.
func TestForwardAuthReason(t *testing.T) {
	inst, is := startStandard(t, "")
	alice := is.sign(t, is.claims("alice", nil))
	tests := []struct {
		name       string
		method     string
		uri        string
		reason     string
		message    string
		decisionID bool
	}{
		{name: "allowed has no reason", method: "GET", uri: "/records/record-1", decisionID: true},
		{name: "policy deny", method: "GET", uri: "/records/record-4", reason: "denied",
			message: "access denied by the policy", decisionID: true},
		{name: "no route rule", method: "GET", uri: "/admin", reason: "no-route",
			message: "access denied: no route rule matches the request"},
		{name: "method not in any rule", method: "DELETE", uri: "/records/record-1", reason: "no-route",
			message: "access denied: no route rule matches the request"},
		{name: "refused path", method: "GET", uri: "/records/./record-1", reason: "refused",
			message: "access denied: the original request is missing, ambiguous or has a path Verdict refuses"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(t, http.MethodGet, inst.URL+"/v1/forward-auth", nil,
				append(bearer(alice), "X-Original-Method", tt.method, "X-Original-URI", tt.uri)...)
			if got := resp.Header.Get("X-Verdict-Reason"); got != tt.reason {
				t.Errorf("X-Verdict-Reason %q, want %q", got, tt.reason)
			}
			if got := resp.Header.Get("X-Verdict-Decision-Id"); (got != "") != tt.decisionID {
				t.Errorf("X-Verdict-Decision-Id %q, want one: %v", got, tt.decisionID)
			}
			if tt.reason == "" {
				if resp.Status != 200 {
					t.Fatalf("status %d; body %s", resp.Status, resp.Body)
				}
				return
			}
			if resp.Status != 403 {
				t.Fatalf("status %d, want 403; body %s", resp.Status, resp.Body)
			}
			e, _ := resp.json(t)["error"].(map[string]any)
			if e["code"] != "access_denied" || e["message"] != tt.message {
				t.Errorf("error %v, want access_denied %q", e, tt.message)
			}
		})
	}
}

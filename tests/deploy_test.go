package tests

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// replaceOnce replaces old, which must occur exactly once in s: when an example changes, the
// test says which line it no longer finds rather than testing something else.
func replaceOnce(t *testing.T, s, old, replacement string) string {
	t.Helper()
	if n := strings.Count(s, old); n != 1 {
		t.Fatalf("the example has %q %d times, want once", old, n)
	}
	return strings.Replace(s, old, replacement, 1)
}

// TestDeployNginx runs deploy/nginx/nginx.conf as shipped, with only its addresses, include
// directory and log and temporary paths moved to the test's: `nginx -t` accepts it, requests
// through it are allowed and denied by Verdict, its access log gives the reason and decision
// id of each 403, and the keepalive to Verdict works (nginx speaks HTTP/1.1 to it and reuses
// one connection).
func TestDeployNginx(t *testing.T) {
	inst, is := startStandard(t, "")
	target, err := url.Parse(inst.URL)
	if err != nil {
		t.Fatal(err)
	}
	// Between nginx and Verdict, a proxy that counts the connections nginx opens.
	var conns, http10 atomic.Int64
	proxy := httputil.NewSingleHostReverseProxy(target)
	counting := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMinor == 0 {
			http10.Add(1)
		}
		proxy.ServeHTTP(w, r)
	}))
	counting.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	counting.Start()
	defer counting.Close()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "upstream %s as %s", r.URL.RequestURI(), r.Header.Get("X-Verdict-Subject"))
	}))
	defer upstream.Close()

	raw, err := os.ReadFile("../deploy/nginx/nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	deploy, err := filepath.Abs("../deploy/nginx")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	addr := freeAddr(t)
	conf := string(raw)
	conf = replaceOnce(t, conf, "events {}", nginxMainDirectives(dir)+"events {}")
	conf = replaceOnce(t, conf, "http {", "http {"+nginxHTTPDirectives(dir))
	conf = replaceOnce(t, conf, "server 127.0.0.1:8181;", "server "+counting.Listener.Addr().String()+";")
	conf = replaceOnce(t, conf, "server 127.0.0.1:8080;", "server "+strings.TrimPrefix(upstream.URL, "http://")+";")
	conf = replaceOnce(t, conf, "listen 80;", "listen "+addr+";")
	conf = replaceOnce(t, conf, "access_log /var/log/nginx/access.log verdict;", "access_log "+dir+"/verdict.log verdict;")
	conf = replaceOnce(t, conf, "include /etc/nginx/verdict/verdict-auth.conf;", "include "+deploy+"/verdict-auth.conf;")
	conf = replaceOnce(t, conf, "include /etc/nginx/verdict/verdict-protect.conf;", "include "+deploy+"/verdict-protect.conf;")
	base := runNginx(t, dir, conf, addr)

	alice := is.sign(t, is.claims("alice", nil))
	tests := []struct {
		name   string
		path   string
		status int
		body   string
	}{
		{name: "allowed", path: "/records/record-1", status: 200, body: "upstream /records/record-1 as alice"},
		{name: "denied", path: "/records/record-4", status: 403},
		{name: "no route", path: "/admin", status: 403},
		{name: "allowed again", path: "/records/record-3", status: 200, body: "upstream /records/record-3 as alice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(t, http.MethodGet, base+tt.path, nil, bearer(alice)...)
			if resp.Status != tt.status {
				t.Fatalf("status %d, want %d; body %s", resp.Status, tt.status, resp.Body)
			}
			if tt.body != "" && string(resp.Body) != tt.body {
				t.Errorf("body %q, want %q", resp.Body, tt.body)
			}
		})
	}
	// The access log says why each 403 is one.
	logged, err := os.ReadFile(filepath.Join(dir, "verdict.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`"GET /records/record-4 HTTP/1.1" 403 verdict_reason=denied verdict_decision_id=[0-9a-f]{32}\n`),
		regexp.MustCompile(`"GET /admin HTTP/1.1" 403 verdict_reason=no-route verdict_decision_id=\n`),
	} {
		if !want.Match(logged) {
			t.Errorf("access log lacks %s:\n%s", want, logged)
		}
	}

	// nginx does not read the body of a 401 or 403 to an auth subrequest and closes that
	// connection; a 200 has none, so allowed requests share one.
	before := conns.Load()
	const allowed = 5
	for range allowed {
		if resp := do(t, http.MethodGet, base+"/records/record-1", nil, bearer(alice)...); resp.Status != 200 {
			t.Fatalf("status %d; body %s", resp.Status, resp.Body)
		}
	}
	if n := conns.Load() - before; n > 1 {
		t.Errorf("nginx opened %d connections to Verdict for %d allowed requests, want 1 kept alive", n, allowed)
	}
	if n := http10.Load(); n != 0 {
		t.Errorf("nginx sent %d subrequests as HTTP/1.0, which closes the connection after each", n)
	}
}

// TestDeployYAML parses every YAML example in deploy/ and checks what Verdict relies on in each.
func TestDeployYAML(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		check func(t *testing.T, docs []map[string]any)
	}{
		{name: "kubernetes", file: "kubernetes/verdict.yaml", check: checkKubernetes},
		{name: "traefik", file: "traefik/dynamic.yml", check: func(t *testing.T, docs []map[string]any) {
			auth := lookup(t, docs[0], "http", "middlewares", "verdict", "forwardAuth")
			if auth["address"] != "http://verdict:8181/v1/forward-auth" || auth["trustForwardHeader"] != false {
				t.Errorf("forwardAuth %v", auth)
			}
		}},
		{name: "envoy", file: "envoy/envoy.yaml", check: func(t *testing.T, docs []map[string]any) {
			listeners := lookup(t, docs[0], "static_resources")["listeners"].([]any)
			if len(listeners) == 0 {
				t.Fatal("no listeners")
			}
			chain := listeners[0].(map[string]any)["filter_chains"].([]any)[0].(map[string]any)
			hcm := chain["filters"].([]any)[0].(map[string]any)["typed_config"].(map[string]any)
			authz := hcm["http_filters"].([]any)[0].(map[string]any)["typed_config"].(map[string]any)
			if authz["failure_mode_allow"] != false || lookup(t, authz, "http_service")["path_prefix"] != "/v1/forward-auth" {
				t.Errorf("ext_authz %v", authz)
			}
		}},
		{name: "envoy grpc", file: "envoy/envoy-grpc.yaml", check: func(t *testing.T, docs []map[string]any) {
			chain := lookup(t, docs[0], "static_resources")["listeners"].([]any)[0].(map[string]any)["filter_chains"].([]any)[0].(map[string]any)
			hcm := chain["filters"].([]any)[0].(map[string]any)["typed_config"].(map[string]any)
			authz := hcm["http_filters"].([]any)[0].(map[string]any)["typed_config"].(map[string]any)
			if authz["failure_mode_allow"] != false || lookup(t, authz, "grpc_service", "envoy_grpc")["cluster_name"] != "verdict_grpc" {
				t.Errorf("ext_authz %v", authz)
			}
		}},
		{name: "istio", file: "istio/authorization-policy.yaml", check: checkIstio},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("../deploy", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var docs []map[string]any
			dec := yaml.NewDecoder(bytes.NewReader(raw))
			for {
				var doc map[string]any
				if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
					break
				} else if err != nil {
					t.Fatalf("%s: %v", tt.file, err)
				}
				docs = append(docs, doc)
			}
			if len(docs) == 0 {
				t.Fatalf("%s holds no document", tt.file)
			}
			tt.check(t, docs)
		})
	}
}

// checkIstio checks that the AuthorizationPolicy sends requests to a CUSTOM provider that
// mesh-config.yaml defines as Verdict's gRPC ext_authz port in deploy/kubernetes.
func checkIstio(t *testing.T, docs []map[string]any) {
	spec := lookup(t, docs[0], "spec")
	if docs[0]["kind"] != "AuthorizationPolicy" || spec["action"] != "CUSTOM" {
		t.Fatalf("policy %v", docs[0])
	}
	provider := lookup(t, spec, "provider")["name"]
	raw, err := os.ReadFile("../deploy/istio/mesh-config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cm map[string]any
	if err := yaml.Unmarshal(raw, &cm); err != nil {
		t.Fatal(err)
	}
	var mesh struct {
		ExtensionProviders []struct {
			Name string `yaml:"name"`
			Grpc *struct {
				Service  string `yaml:"service"`
				Port     int    `yaml:"port"`
				FailOpen bool   `yaml:"failOpen"`
			} `yaml:"envoyExtAuthzGrpc"`
		} `yaml:"extensionProviders"`
	}
	if err := yaml.Unmarshal([]byte(lookup(t, cm, "data")["mesh"].(string)), &mesh); err != nil {
		t.Fatalf("mesh: %v", err)
	}
	for _, p := range mesh.ExtensionProviders {
		if p.Name == provider && p.Grpc != nil && p.Grpc.Port == 9191 && !p.Grpc.FailOpen &&
			strings.HasPrefix(p.Grpc.Service, "verdict.") {
			return
		}
	}
	t.Errorf("no gRPC extension provider %q on verdict:9191 failing closed in %+v", provider, mesh)
}

// checkKubernetes runs `verdict check-config` on the ConfigMap's verdict.yaml, with the
// Secret's variables set as the Deployment maps them, and checks that its Keycloak issuer
// accepts Keycloak's typ (docs/tokens.md, Keycloak).
func checkKubernetes(t *testing.T, docs []map[string]any) {
	var cfg string
	var env []any
	for _, doc := range docs {
		switch doc["kind"] {
		case "ConfigMap":
			cfg, _ = lookup(t, doc, "data")["verdict.yaml"].(string)
		case "Deployment":
			containers := lookup(t, doc, "spec", "template", "spec")["containers"].([]any)
			env, _ = containers[0].(map[string]any)["env"].([]any)
		}
	}
	if cfg == "" || env == nil {
		t.Fatal("the example lacks the ConfigMap's verdict.yaml or the container's env")
	}
	vars := []string{"PATH=" + os.Getenv("PATH"), "GOMEMLIMIT=" + checkEdgeObjects(t, docs, cfg)}
	digest := "[" + strings.Repeat("ab", 32) + "]"
	for _, e := range env {
		e := e.(map[string]any)
		if from, ok := e["valueFrom"].(map[string]any); ok && from["secretKeyRef"] != nil {
			vars = append(vars, fmt.Sprintf("%s=%s", e["name"], digest))
		}
	}
	if len(vars) != 4 {
		t.Fatalf("secret variables %v, want the admin and AuthZEN key digests", vars)
	}

	var parsed struct {
		Tokens struct {
			Issuers []map[string]any `yaml:"issuers"`
		} `yaml:"tokens"`
	}
	if err := yaml.Unmarshal([]byte(cfg), &parsed); err != nil {
		t.Fatal(err)
	}
	for _, is := range parsed.Tokens.Issuers {
		if strings.Contains(fmt.Sprint(is["issuer"]), "/realms/") {
			if typ, ok := is["require_typ"]; !ok || typ != "" {
				t.Errorf("Keycloak issuer %v: require_typ must be \"\" (Keycloak sends typ JWT), is %v", is["issuer"], typ)
			}
		}
	}

	// check-config refuses files that do not exist: the pod mounts the signing key at
	// /etc/verdict, which the test stands in for with its directory.
	// The TLS Secret is mounted at /etc/verdict-tls, which the test's tls directory stands in for.
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "tls"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"signing.pub.pem", "tls/tls.crt", "tls/tls.key"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(dir, "verdict.yaml")
	cfg = strings.ReplaceAll(strings.ReplaceAll(cfg, "/etc/verdict-tls/", dir+"/tls/"), "/etc/verdict/", dir+"/")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, verdictBin(t), "check-config", "--config", file)
	cmd.Dir, cmd.Env = dir, vars
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "configuration ok") {
		t.Errorf("check-config: %v\n%s", err, out)
	}
}

// lookup follows keys through nested YAML mappings.
func lookup(t *testing.T, m map[string]any, keys ...string) map[string]any {
	t.Helper()
	for _, k := range keys {
		next, ok := m[k].(map[string]any)
		if !ok {
			t.Fatalf("no mapping at %q in %v", k, m)
		}
		m = next
	}
	return m
}

// checkEdgeObjects checks what the Kubernetes example adds around the container: GOMEMLIMIT
// derived from limits.memory, the admin port with the probes on it, TLS from a Secret at the
// configured paths, a preStop sleep that fits in the grace period with the shutdown drain, a
// PodDisruptionBudget for the Deployment's pods, and the decision-log receiver example. It
// returns GOMEMLIMIT as the kubelet would set it, for check-config to start under.
func checkEdgeObjects(t *testing.T, docs []map[string]any, cfg string) string {
	t.Helper()
	var pod, pdb map[string]any
	for _, doc := range docs {
		switch doc["kind"] {
		case "Deployment":
			pod = lookup(t, doc, "spec", "template", "spec")
		case "PodDisruptionBudget":
			pdb = doc
		}
	}
	if pod == nil || pdb == nil {
		t.Fatal("the example lacks the Deployment or the PodDisruptionBudget")
	}
	if lookup(t, pdb, "spec", "selector", "matchLabels")["app"] != "verdict" || lookup(t, pdb, "spec")["maxUnavailable"] == nil {
		t.Errorf("PodDisruptionBudget %v does not bound the verdict pods", pdb["spec"])
	}
	c := pod["containers"].([]any)[0].(map[string]any)

	var server struct {
		Server struct {
			AdminAddr string `yaml:"admin_addr"`
			TLS       struct {
				CertFile string `yaml:"cert_file"`
				KeyFile  string `yaml:"key_file"`
			}
			ShutdownDelay   time.Duration `yaml:"shutdown_delay"`
			ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
		}
	}
	if err := yaml.Unmarshal([]byte(cfg), &server); err != nil {
		t.Fatal(err)
	}
	s := server.Server
	ports := map[string]int{}
	for _, p := range c["ports"].([]any) {
		p := p.(map[string]any)
		ports[p["name"].(string)] = p["containerPort"].(int)
	}
	if !strings.HasSuffix(s.AdminAddr, fmt.Sprintf(":%d", ports["admin"])) {
		t.Errorf("admin_addr %q is not the admin containerPort %d", s.AdminAddr, ports["admin"])
	}
	for _, probe := range []string{"readinessProbe", "livenessProbe"} {
		get := lookup(t, c, probe, "httpGet")
		if get["port"] != "admin" || get["scheme"] != "HTTPS" {
			t.Errorf("%s %v: want the admin port over HTTPS", probe, get)
		}
	}

	mounts := map[string]string{}
	for _, m := range c["volumeMounts"].([]any) {
		m := m.(map[string]any)
		mounts[m["name"].(string)] = m["mountPath"].(string)
	}
	var tlsSecret string
	for _, v := range pod["volumes"].([]any) {
		if v := v.(map[string]any); v["name"] == "tls" {
			tlsSecret, _ = lookup(t, v, "secret")["secretName"].(string)
		}
	}
	if tlsSecret == "" || s.TLS.CertFile != mounts["tls"]+"/tls.crt" || s.TLS.KeyFile != mounts["tls"]+"/tls.key" {
		t.Errorf("server.tls %+v is not the Secret %q mounted at %q", s.TLS, tlsSecret, mounts["tls"])
	}

	preStop := lookup(t, c, "lifecycle", "preStop", "sleep")["seconds"].(int)
	timeout := s.ShutdownTimeout
	if timeout == 0 {
		timeout = 10 * time.Second // config.DefaultShutdownTimeout
	}
	drain := time.Duration(preStop)*time.Second + s.ShutdownDelay + timeout
	if grace := time.Duration(pod["terminationGracePeriodSeconds"].(int)) * time.Second; preStop < 1 || grace <= drain {
		t.Errorf("terminationGracePeriodSeconds %s must exceed the preStop sleep, shutdown_delay and shutdown_timeout, %s", grace, drain)
	}

	example := regexp.MustCompile(`(?m)^ *# (decision_log:\n(?: *#   .*\n)+)`).FindStringSubmatch(cfg)
	if example == nil {
		t.Fatal("no commented decision-log receiver example in verdict.yaml")
	}
	var sink struct {
		DecisionLog struct {
			Sink string            `yaml:"sink"`
			HTTP map[string]string `yaml:"http"`
		} `yaml:"decision_log"`
	}
	if err := yaml.Unmarshal([]byte(regexp.MustCompile(`(?m)^ *# ?`).ReplaceAllString(example[1], "")), &sink); err != nil ||
		sink.DecisionLog.Sink != "http" || sink.DecisionLog.HTTP["url"] == "" {
		t.Errorf("decision-log example %q: %v; want sink http and an http.url", example[1], err)
	}

	// GOMEMLIMIT as the kubelet expands it: limits.memory in the divisor's unit, put into the
	// value that references it.
	env := map[string]map[string]any{}
	for _, e := range c["env"].([]any) {
		e := e.(map[string]any)
		env[e["name"].(string)] = e
	}
	ref := lookup(t, env["MEMORY_LIMIT_KIB"], "valueFrom", "resourceFieldRef")
	limit := lookup(t, c, "resources", "limits")["memory"]
	if ref["resource"] != "limits.memory" || ref["divisor"] != "1Ki" || limit != "512Mi" {
		t.Fatalf("MEMORY_LIMIT_KIB %v from limits.memory %v: the test knows 512Mi in 1Ki", ref, limit)
	}
	gomemlimit := strings.ReplaceAll(env["GOMEMLIMIT"]["value"].(string), "$(MEMORY_LIMIT_KIB)", fmt.Sprint(512*1024))
	if gomemlimit != "524288000B" {
		t.Errorf("GOMEMLIMIT %q, want 524288000B (500MiB under 512Mi)", gomemlimit)
	}
	return gomemlimit
}

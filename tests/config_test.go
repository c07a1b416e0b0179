package tests

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRefusedConfigurations: a configuration that would be unsafe is refused by both
// `verdict check-config` and `verdict serve`, with a message that names the key.
func TestRefusedConfigurations(t *testing.T) {
	const issuer = "tokens: {issuers: [{issuer: https://idp.test, audiences: [verdict], jwks_file: jwks.json}]}\n"
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{name: "pep jwt without a scope trusts end-user tokens",
			yaml: issuer + "authzen: {pep_auth: jwt, issuer: https://idp.test}",
			want: "authzen.scope: must be set when pep_auth is jwt"},
		{name: "allow_builtins naming a builtin that is not denied",
			yaml: "policy: {allow_builtins: [time.now_ns]}",
			want: `policy.allow_builtins: "time.now_ns" is not one of the builtins Verdict denies`},
		{name: "negative shutdown delay",
			yaml: "server: {shutdown_delay: -1s}",
			want: "server.shutdown_delay: must not be negative"},
		{name: "CORS for any origin with credentials",
			yaml: "server: {cors: {allowed_origins: ['*'], allow_credentials: true}}",
			want: `server.cors.allowed_origins[0]: "*" cannot be combined with allow_credentials`},
		{name: "pep mtls without a client CA",
			yaml: "authzen: {pep_auth: mtls, client_cert_names: [gateway]}",
			want: "authzen.pep_auth: mtls needs server.tls.client_ca"},
	}
	for _, tt := range tests {
		for _, command := range []string{"check-config", "serve"} {
			t.Run(tt.name+"/"+command, func(t *testing.T) {
				out, err := commandWithConfig(t, tt.yaml, command, "--addr", freeAddr(t)).CombinedOutput()
				if err == nil {
					t.Fatalf("%s accepted the configuration:\n%s", command, out)
				}
				if !strings.Contains(string(out), tt.want) {
					t.Errorf("%s output lacks %q:\n%s", command, tt.want, out)
				}
			})
		}
	}
}

// TestListFromEnvironment: a list of strings can come from one variable comma-separated, as a
// Kubernetes Secret holds it; here the admin key is the second of two digests.
func TestListFromEnvironment(t *testing.T) {
	other := sha256.Sum256([]byte("another admin key"))
	mine := sha256.Sum256([]byte(e2eAdminKey))
	inst := startVerdictEnv(t, "", []string{"VERDICT_ADMIN_API_KEYS_SHA256=" + hex.EncodeToString(other[:]) + "," + hex.EncodeToString(mine[:])}, "--dev")
	resp := do(t, http.MethodPost, inst.URL+"/v1/admin/revocations", strings.NewReader(`{"iss":"https://verdict.dev.local","sub":"bob"}`),
		"Content-Type", "application/json", "X-API-Key", e2eAdminKey)
	if resp.Status != http.StatusOK {
		t.Fatalf("admin revocation with the second key: status %d; body %s", resp.Status, resp.Body)
	}
}

// TestCheckConfigReportsEverything: check-config refuses what serve refuses, every problem in
// one run, each under its key path, and takes serve's --bundle and --dev.
func TestCheckConfigReportsEverything(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		args  []string
		want  []string
		ok    bool   // the configuration is valid
		warns string // expected on standard error when ok
	}{
		{name: "missing files, bad addresses, all at once",
			yaml: `server: {addr: "19013", tls: {cert_file: missing.crt, key_file: missing.key}}
policy: {verification: {public_key: missing.pem}}
tokens: {issuers: [{issuer: https://idp.test, audiences: [verdict], jwks_file: missing.json}]}
revocation: {store: redis, redis_url: "localhost:6379"}
decision_log: {sink: file, path: nodir/decisions.log}
`,
			args: []string{"--bundle", "/nonexistent"},
			want: []string{
				"server.tls.cert_file: stat missing.crt: no such file or directory",
				`server.addr: "19013" is not host:port`,
				"policy.verification.public_key: stat missing.pem: no such file or directory",
				"tokens.issuers[0].jwks_file: stat missing.json: no such file or directory",
				`revocation.redis_url: "localhost:6379" is not a redis://`,
				"decision_log.path (its directory): stat nodir: no such file or directory",
				"policy.bundle: stat /nonexistent: no such file or directory",
			}},
		{name: "decision log receiver's CA file missing",
			yaml: "decision_log: {sink: http, http: {url: https://logs.test, ca_file: missing-ca.pem}}\n",
			want: []string{"decision_log.http.ca_file: stat missing-ca.pem: no such file or directory"}},
		{name: "a type error does not hide the other errors",
			yaml: "server: {read_timeout: 10, adr: x}\nrevocation: {store: memcache}\n",
			want: []string{
				"`server.read_timeout` (line 1): `10` is not a duration; write `10s`",
				"`server.adr`: no such configuration key; did you mean `addr`?",
				`revocation.store: "memcache" is not file or redis`,
			}},
		{name: "dev issuer counts as a configured issuer",
			yaml: "authzen: {pep_auth: jwt, issuer: https://verdict.dev.local, scope: pep}\n",
			args: []string{"--dev"}, ok: true},
		{name: "issuer that is not a URL is a warning",
			yaml: "tokens: {issuers: [{issuer: idp.test, audiences: [verdict], jwks_file: verdict.yaml}]}\n",
			ok:   true, warns: `tokens.issuers[0].issuer: "idp.test" is not an http(s) URL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := commandWithConfig(t, tt.yaml, "check-config", tt.args...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if tt.ok {
				if err != nil || !strings.Contains(string(out), "configuration ok") {
					t.Fatalf("check-config refused a valid configuration: %v\n%s%s", err, out, stderr.String())
				}
				if !strings.Contains(stderr.String(), tt.warns) {
					t.Errorf("standard error lacks %q:\n%s", tt.warns, stderr.String())
				}
				return
			}
			if err == nil {
				t.Fatalf("check-config accepted the configuration:\n%s", out)
			}
			for _, want := range tt.want {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, stderr.String())
				}
			}
		})
	}
}

// commandWithConfig prepares `verdict COMMAND --config FILE ARGS...` run in a temporary
// directory that holds FILE with the given YAML, bounded to 20 seconds.
func commandWithConfig(t *testing.T, yaml, command string, args ...string) *exec.Cmd {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "verdict.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, verdictBin(t), append([]string{command, "--config", file}, args...)...)
	cmd.Dir = dir
	return cmd
}

// TestCheckConfigOnline: check-config contacts no key server unless --online is given, and then
// reports an issuer whose key set cannot be fetched under its key path.
func TestCheckConfigOnline(t *testing.T) {
	is := newIssuer(t, t.TempDir(), e2eIssuer)
	ks := newKeyServer(t, is)
	down := "http://" + freeAddr(t) // nothing listens there
	yaml := func(base string) string {
		return fmt.Sprintf("tokens:\n  issuers:\n    - issuer: %s\n      audiences: [verdict]\n      jwks_url: %s/jwks.json\n", e2eIssuer, base)
	}
	tests := []struct {
		name  string
		base  string
		args  []string
		ok    bool
		want  string
		calls bool
	}{
		{name: "offline does not fetch", base: ks.URL, ok: true},
		{name: "offline accepts a server that is down", base: down, ok: true},
		{name: "online fetches", base: ks.URL, args: []string{"--online"}, ok: true, calls: true},
		{name: "online reports a server that is down", base: down, args: []string{"--online"},
			want: "tokens.issuers[0] (" + e2eIssuer + "): keys: JWKS " + down + "/jwks.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := ks.fetches.Load()
			cmd := commandWithConfig(t, yaml(tt.base), "check-config", tt.args...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if tt.ok != (err == nil) {
				t.Fatalf("check-config: %v\n%s%s", err, out, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("standard error lacks %q:\n%s", tt.want, stderr.String())
			}
			if fetched := ks.fetches.Load() > before; tt.base == ks.URL && fetched != tt.calls {
				t.Errorf("key server fetched = %v; want %v", fetched, tt.calls)
			}
		})
	}
}

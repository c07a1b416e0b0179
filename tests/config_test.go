package tests

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	}
	for _, tt := range tests {
		for _, command := range []string{"check-config", "serve"} {
			t.Run(tt.name+"/"+command, func(t *testing.T) {
				dir := t.TempDir()
				file := filepath.Join(dir, "verdict.yaml")
				if err := os.WriteFile(file, []byte(tt.yaml), 0o600); err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				cmd := exec.CommandContext(ctx, verdictBin(t), command, "--config", file, "--addr", freeAddr(t))
				cmd.Dir = dir
				out, err := cmd.CombinedOutput()
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

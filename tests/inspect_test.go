package tests

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestTokenRefusalExplained runs `verdict token inspect` and `verdict eval --token` on refused
// tokens and checks that each names the failed check with the value found and the value
// expected, and never prints the signature.
func TestTokenRefusalExplained(t *testing.T) {
	dir := t.TempDir()
	is := newIssuer(t, dir, e2eIssuer)
	cfg := filepath.Join(dir, "verdict.yaml")
	yaml := fmt.Sprintf("tokens:\n  issuers:\n    - issuer: %s\n      audiences: [verdict]\n      jwks_file: %s\n", e2eIssuer, is.JWKSPath)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	withTyp := func(typ string) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, is.claims("alice", nil))
		tok.Header["kid"] = "rsa-1"
		tok.Header["typ"] = typ
		s, err := tok.SignedString(is.RSA)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name  string
		token string
		want  string
	}{
		{name: "Keycloak's default audience", token: is.sign(t, is.claims("alice", map[string]any{"aud": "account"})),
			want: "token refused: aud: found [account], expected one of [verdict]"},
		{name: "expired", token: is.sign(t, is.claims("alice", map[string]any{"exp": time.Now().Add(-time.Hour).Unix()})),
			want: "token refused: exp: found "},
		{name: "unknown issuer", token: is.sign(t, is.claims("alice", map[string]any{"iss": "https://other.e2e.test"})),
			want: `token refused: iss: found "https://other.e2e.test", expected one of [` + e2eIssuer + "]"},
		{name: "typ JWT", token: withTyp("JWT"),
			want: `token refused: typ: found "JWT", expected "at+jwt"`},
	}
	for _, tt := range tests {
		for _, command := range [][]string{{"token", "inspect", tt.token}, {"eval", "--input", "-", "--token", tt.token}} {
			t.Run(tt.name+"/"+command[0], func(t *testing.T) {
				out, err := runCommand(t, `{"action":"read","resource":{"type":"document","id":"d1"}}`, append(command, "--config", cfg)...)
				if err == nil {
					t.Fatalf("the refused token was accepted:\n%s", out)
				}
				if !strings.Contains(out, tt.want) {
					t.Errorf("output lacks %q:\n%s", tt.want, out)
				}
				if sig := tt.token[strings.LastIndex(tt.token, ".")+1:]; strings.Contains(out, sig) {
					t.Errorf("output shows the signature:\n%s", out)
				}
			})
		}
	}
	t.Run("expired shows the expected bound", func(t *testing.T) {
		out, _ := runCommand(t, "", "token", "inspect", tests[1].token, "--config", cfg)
		if !strings.Contains(out, "expected after ") || !strings.Contains(out, "(now less leeway 30s)") {
			t.Errorf("no expected bound:\n%s", out)
		}
	})
	t.Run("valid token", func(t *testing.T) {
		out, err := runCommand(t, "", "token", "inspect", is.sign(t, is.claims("alice", nil)), "--config", cfg)
		if err != nil {
			t.Fatalf("%v:\n%s", err, out)
		}
		for _, want := range []string{"header:\n{\n", `"kid": "rsa-1"`, "claims:\n{\n", `"sub": "alice"`, "valid for issuer " + e2eIssuer} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})
}

// runCommand runs the binary with args and stdin and returns its combined output.
func runCommand(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, verdictBin(t), args...)
	cmd.Dir = t.TempDir()
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

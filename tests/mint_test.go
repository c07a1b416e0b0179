package tests

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// mint runs `verdict token mint args...` in dir and returns its output and error.
func mint(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, verdictBin(t), append([]string{"token", "mint"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// jwtPart decodes the header (0) or payload (1) of a compact JWT.
func jwtPart(t *testing.T, tok string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestTokenMint: `verdict token mint` signs with the key of `serve --dev` in its directory and
// refuses to make a new one elsewhere; --ttl 0 or less mints an expired token; flags that only
// mean something with --key are refused without it; --typ sets the header typ.
func TestTokenMint(t *testing.T) {
	inst := startVerdict(t, "", "--dev")
	const body = `{"action":"read","resource":{"type":"document","id":"doc-42","properties":{"tenant":"acme","owner":"alice","classification":"internal"}}}`
	tests := []struct {
		name    string
		args    []string
		err     string // a part of the refusal
		status  int    // of /v1/authorize with the token, when not 0
		typ     any
		expired bool
	}{
		{name: "default", args: []string{"--tenant", "acme"}, status: 200, typ: "at+jwt"},
		// The development issuer requires typ at+jwt, as an issuer does by default.
		{name: "typ JWT", args: []string{"--typ", "JWT", "--tenant", "acme"}, status: 401, typ: "JWT"},
		{name: "no typ", args: []string{"--typ", "", "--tenant", "acme"}, status: 401, typ: nil},
		{name: "negative ttl is expired", args: []string{"--ttl", "-1h"}, status: 401, typ: "at+jwt", expired: true},
		// exp is now: expired, though within the verifier's clock-skew leeway.
		{name: "zero ttl is expired", args: []string{"--ttl", "0s"}, typ: "at+jwt", expired: true},
		{name: "issuer without key", args: []string{"--issuer", "https://idp.test"}, err: "--issuer needs --key"},
		{name: "audience without key", args: []string{"--audience", "api"}, err: "--audience needs --key"},
		{name: "kid without key", args: []string{"--kid", "k1"}, err: "--kid needs --key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := mint(t, inst.Dir, tt.args...)
			if tt.err != "" {
				if err == nil || !strings.Contains(out, tt.err) {
					t.Fatalf("mint %v: %v, output %q; want a refusal with %q", tt.args, err, out, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("mint %v: %v\n%s", tt.args, err, out)
			}
			if typ := jwtPart(t, out, 0)["typ"]; typ != tt.typ {
				t.Errorf("typ %v, want %v", typ, tt.typ)
			}
			exp, _ := jwtPart(t, out, 1)["exp"].(float64)
			if expired := int64(exp) <= time.Now().Unix(); expired != tt.expired {
				t.Errorf("exp %v: expired %v, want %v", exp, expired, tt.expired)
			}
			if resp := authorize(t, inst, out, body); tt.status != 0 && resp.Status != tt.status {
				t.Errorf("authorize: status %d, want %d; body %s", resp.Status, tt.status, resp.Body)
			}
		})
	}

	t.Run("another directory", func(t *testing.T) {
		dir := t.TempDir()
		out, err := mint(t, dir)
		want := "no development key at " + filepath.Join(dir, ".verdict", "dev-signing-key.pem")
		if err == nil || !strings.Contains(out, want) || !strings.Contains(out, "--key") {
			t.Errorf("mint in another directory: %v, output %q; want a refusal with %q and --key", err, out, want)
		}
		if _, err := os.Stat(filepath.Join(dir, ".verdict")); !os.IsNotExist(err) {
			t.Errorf("mint created %s/.verdict: %v", dir, err)
		}
	})
}

// TestBareMintIsTheDevToken: a bare `verdict token mint` gives the subject, roles, tenant,
// scopes and amr of the token `serve --dev` prints, so the README's request works with either.
func TestBareMintIsTheDevToken(t *testing.T) {
	inst := startVerdict(t, "", "--dev")
	m := regexp.MustCompile(`export TOKEN=(\S+)`).FindStringSubmatch(inst.output.String())
	if m == nil {
		t.Fatalf("no token printed:\n%s", inst.output.String())
	}
	out, err := mint(t, inst.Dir)
	if err != nil {
		t.Fatalf("mint: %v\n%s", err, out)
	}
	banner, minted := jwtPart(t, m[1], 1), jwtPart(t, out, 1)
	for _, claim := range []string{"sub", "roles", "tenant", "scope", "amr"} {
		if want, got := fmt.Sprint(banner[claim]), fmt.Sprint(minted[claim]); got != want || banner[claim] == nil {
			t.Errorf("%s: minted %s, serve --dev printed %s", claim, got, want)
		}
	}
}

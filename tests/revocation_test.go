package tests

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/verdict-pdp/verdict/pdp/revocation/revocationtest"
)

const e2eAdminKey = "e2e-admin-key-7f3a9c"

// adminYAML configures the admin API key the revocation tests use, plus extra YAML.
func adminYAML(extra string) string {
	sum := sha256.Sum256([]byte(e2eAdminKey))
	return fmt.Sprintf("admin: {api_keys_sha256: [%s]}\n%s", hex.EncodeToString(sum[:]), extra)
}

func redisYAML(redisURL, onError string) string {
	return fmt.Sprintf("revocation: {store: redis, redis_url: %q, on_store_error: %s}\n", redisURL, onError)
}

var readAcmeDoc = `{"action":"read","resource":` + doc("acme", "bob", "internal") + `}`

var editorClaims = map[string]any{"roles": []string{"editor"}, "tenant": "acme"}

// wantStatus authorizes with tok and fails unless the answer has the status.
func wantStatus(t *testing.T, inst *instance, tok string, status int) response {
	t.Helper()
	resp := authorize(t, inst, tok, readAcmeDoc)
	if resp.Status != status {
		t.Fatalf("%s: status %d, want %d; body %s", inst.URL, resp.Status, status, resp.Body)
	}
	if status == http.StatusUnauthorized && !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("WWW-Authenticate %q is not invalid_token", resp.Header.Get("WWW-Authenticate"))
	}
	return resp
}

// adminRevoke posts a JSON revocation with the admin key and expects 200.
func adminRevoke(t *testing.T, inst *instance, body string) map[string]any {
	t.Helper()
	resp := do(t, http.MethodPost, inst.URL+"/v1/admin/revocations", strings.NewReader(body),
		"Content-Type", "application/json", "X-API-Key", e2eAdminKey)
	if resp.Status != http.StatusOK {
		t.Fatalf("admin revocation: status %d; body %s", resp.Status, resp.Body)
	}
	return resp.json(t)
}

// rfc7009Revoke posts an RFC 7009 revocation form with the admin key as a bearer token.
func rfc7009Revoke(t *testing.T, inst *instance, tok string) response {
	t.Helper()
	form := url.Values{"token": {tok}, "token_type_hint": {"access_token"}}.Encode()
	return do(t, http.MethodPost, inst.URL+"/v1/revoke", strings.NewReader(form),
		"Content-Type", "application/x-www-form-urlencoded", "Authorization", "Bearer "+e2eAdminKey)
}

// TestRevocationRefusesCachedToken revokes a token that the server has verified and cached, each
// way there is to revoke it, and expects the very next request to be refused.
func TestRevocationRefusesCachedToken(t *testing.T) {
	inst, is := startWithIssuer(t, adminYAML(""))
	tests := []struct {
		name   string
		sub    string
		revoke func(t *testing.T, tok, jti string)
		// other is a token of the same subject that must still be allowed afterwards.
		other func(t *testing.T) string
	}{
		{name: "admin revocation by jti", sub: "alice",
			revoke: func(t *testing.T, _, jti string) {
				got := adminRevoke(t, inst, fmt.Sprintf(`{"iss":%q,"jti":%q}`, e2eIssuer, jti))
				if got["type"] != "token" || got["jti"] != jti {
					t.Errorf("recorded %v", got)
				}
			},
			other: func(t *testing.T) string { return is.sign(t, is.claims("alice", editorClaims)) }},
		{name: "RFC 7009 revocation", sub: "anna",
			revoke: func(t *testing.T, tok, _ string) {
				if resp := rfc7009Revoke(t, inst, tok); resp.Status != http.StatusOK {
					t.Fatalf("/v1/revoke: status %d; body %s", resp.Status, resp.Body)
				}
			},
			other: func(t *testing.T) string { return is.sign(t, is.claims("anna", editorClaims)) }},
		{name: "admin revocation of a subject", sub: "alfred",
			revoke: func(t *testing.T, _, _ string) {
				got := adminRevoke(t, inst, fmt.Sprintf(`{"iss":%q,"sub":"alfred"}`, e2eIssuer))
				if got["type"] != "subject" || got["not_before"] == nil {
					t.Errorf("recorded %v", got)
				}
			},
			// A token issued after the not-before (iat one second later, within leeway).
			other: func(t *testing.T) string {
				return is.sign(t, is.claims("alfred", merged(editorClaims, map[string]any{"iat": time.Now().Add(2 * time.Second).Unix()})))
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims := is.claims(tt.sub, editorClaims)
			tok := is.sign(t, claims)
			wantStatus(t, inst, tok, http.StatusOK)
			wantStatus(t, inst, tok, http.StatusOK) // now served from the verified-token cache
			tt.revoke(t, tok, claims["jti"].(string))
			wantStatus(t, inst, tok, http.StatusUnauthorized)
			wantStatus(t, inst, tt.other(t), http.StatusOK)
		})
	}
	t.Run("revoking again and revoking garbage are 200", func(t *testing.T) {
		tok := is.sign(t, is.claims("alex", editorClaims))
		for _, raw := range []string{tok, tok, "not-a-token"} {
			if resp := rfc7009Revoke(t, inst, raw); resp.Status != http.StatusOK {
				t.Fatalf("/v1/revoke: status %d; body %s", resp.Status, resp.Body)
			}
		}
		wantStatus(t, inst, tok, http.StatusUnauthorized)
	})
	t.Run("the admin endpoints want the key", func(t *testing.T) {
		resp := do(t, http.MethodPost, inst.URL+"/v1/admin/revocations",
			strings.NewReader(fmt.Sprintf(`{"iss":%q,"sub":"bob"}`, e2eIssuer)), "Content-Type", "application/json")
		if resp.Status != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("without a key: status %d, WWW-Authenticate %q", resp.Status, resp.Header.Get("WWW-Authenticate"))
		}
	})
}

func TestRevocationDisabledWithoutAdminKeys(t *testing.T) {
	inst, is := startWithIssuer(t, "")
	tok := is.sign(t, is.claims("alice", editorClaims))
	if resp := rfc7009Revoke(t, inst, tok); resp.Status != http.StatusForbidden {
		t.Errorf("/v1/revoke with no admin keys configured: status %d; body %s", resp.Status, resp.Body)
	}
	wantStatus(t, inst, tok, http.StatusOK)
}

// TestRevocationSurvivesRestart revokes with the default file store, restarts the binary on the
// same data directory, and expects the token to stay refused.
func TestRevocationSurvivesRestart(t *testing.T) {
	inst, is := startWithIssuer(t, adminYAML(""))
	claims := is.claims("alice", editorClaims)
	tok := is.sign(t, claims)
	wantStatus(t, inst, tok, http.StatusOK)
	adminRevoke(t, inst, fmt.Sprintf(`{"iss":%q,"jti":%q}`, e2eIssuer, claims["jti"]))
	adminRevoke(t, inst, fmt.Sprintf(`{"iss":%q,"sub":"mallory"}`, e2eIssuer))
	mallory := is.sign(t, is.claims("mallory", merged(editorClaims, map[string]any{"iat": time.Now().Add(-time.Second).Unix()})))
	wantStatus(t, inst, tok, http.StatusUnauthorized)
	inst.stop(t)

	db := filepath.Join(inst.Dir, "data", "revocations.db")
	for path, mode := range map[string]os.FileMode{db: 0o600, filepath.Dir(db): 0o700 | os.ModeDir} {
		if st, err := os.Stat(path); err != nil || st.Mode() != mode {
			t.Errorf("%s: %v, %v; want mode %v", path, st.Mode(), err, mode)
		}
	}
	again := startVerdict(t, inst.Dir, "--config", filepath.Join(inst.Dir, "verdict.yaml"))
	wantStatus(t, again, tok, http.StatusUnauthorized)
	wantStatus(t, again, mallory, http.StatusUnauthorized)
	wantStatus(t, again, is.sign(t, is.claims("alice", editorClaims)), http.StatusOK)
}

// TestRevocationAcrossReplicas runs two binaries on one redis-server: a revocation on A must be
// enforced by B, which has the token cached, within one second.
func TestRevocationAcrossReplicas(t *testing.T) {
	srv := revocationtest.StartRedis(t)
	a, is := startWithIssuer(t, adminYAML(redisYAML(srv.URL, "deny")))
	b := startVerdict(t, "", "--config", filepath.Join(a.Dir, "verdict.yaml"))
	for _, tc := range []struct {
		name   string
		sub    string
		revoke func(jti string)
	}{
		{name: "jti", sub: "alice", revoke: func(jti string) {
			adminRevoke(t, a, fmt.Sprintf(`{"iss":%q,"jti":%q}`, e2eIssuer, jti))
		}},
		{name: "subject", sub: "mallory", revoke: func(string) {
			adminRevoke(t, a, fmt.Sprintf(`{"iss":%q,"sub":"mallory"}`, e2eIssuer))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			claims := is.claims(tc.sub, editorClaims)
			tok := is.sign(t, claims)
			for _, inst := range []*instance{a, b, b} {
				wantStatus(t, inst, tok, http.StatusOK)
			}
			start := time.Now()
			tc.revoke(claims["jti"].(string))
			deadline := start.Add(time.Second)
			for {
				resp := authorize(t, b, tok, readAcmeDoc)
				if resp.Status == http.StatusUnauthorized {
					t.Logf("replica B refused the token %v after replica A was asked to revoke it", time.Since(start))
					break
				}
				if resp.Status != http.StatusOK || time.Now().After(deadline) {
					t.Fatalf("replica B still answers %d %v after the revocation", resp.Status, time.Since(start))
				}
				time.Sleep(5 * time.Millisecond)
			}
			wantStatus(t, a, tok, http.StatusUnauthorized)
		})
	}
}

// TestRevocationStoreDown stops redis-server under a running binary: deny answers 503, allow
// serves the token; both count the failed check.
func TestRevocationStoreDown(t *testing.T) {
	tests := []struct {
		name    string
		onError string
		status  int
	}{
		{name: "deny", onError: "deny", status: http.StatusServiceUnavailable},
		{name: "allow", onError: "allow", status: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := revocationtest.StartRedis(t)
			inst, is := startWithIssuer(t, adminYAML(redisYAML(srv.URL, tt.onError)))
			tok := is.sign(t, is.claims("alice", editorClaims))
			wantStatus(t, inst, tok, http.StatusOK)
			srv.Stop()
			wantStatus(t, inst, tok, tt.status)
			resp := do(t, http.MethodPost, inst.URL+"/v1/admin/revocations",
				strings.NewReader(fmt.Sprintf(`{"iss":%q,"sub":"alice"}`, e2eIssuer)),
				"Content-Type", "application/json", "X-API-Key", e2eAdminKey)
			if resp.Status != http.StatusServiceUnavailable {
				t.Errorf("a revocation with the store down: status %d; body %s", resp.Status, resp.Body)
			}
			metrics := string(do(t, http.MethodGet, inst.URL+"/metrics", nil).Body)
			outcome := "check_denied"
			if tt.onError == "allow" {
				outcome = "check_allowed"
			}
			if want := `verdict_revocation_store_errors_total{outcome="` + outcome + `"} 1`; !strings.Contains(metrics, want) {
				t.Errorf("metrics lack %s", want)
			}
		})
	}
}

func merged(ms ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// TestRevocationTimeRange sends the binary, with each store, the times that used to undo or wrap
// a revocation: an exp past 2262 in an admin revocation (the file store accepted it and the
// revoked token passed again; Redis answered 503), a not_before in 1600 (it locked the subject
// out), and a token whose exp is 11000000000, JWT or introspected, revoked at /v1/revoke (200, and
// the token still authorized). Each is now a 400 naming the field and the range, or a token
// refused outright, and what was revoked stays revoked.
func TestRevocationTimeRange(t *testing.T) {
	srv := revocationtest.StartRedis(t)
	as := newIntrospectionServer(t)
	introspection := fmt.Sprintf("  introspection: {url: %s, client_id: %q, client_secret: %q, issuer: %s, audiences: [verdict]}\n",
		as.URL, e2eClientID, e2eSecret, e2eIssuer)
	farExp := int64(11000000000)
	as.answer("opaque-far-exp", fmt.Sprintf(`{"active":true,"iss":%q,"aud":"verdict","sub":"olivia","jti":"op-far","exp":%d,`+
		`"client_id":"svc","roles":["editor"],"tenant":"acme"}`, e2eIssuer, farExp))
	for _, store := range []struct{ name, yaml string }{
		{name: "file"},
		{name: "redis", yaml: redisYAML(srv.URL, "deny")},
	} {
		t.Run(store.name, func(t *testing.T) {
			inst, is := startWithIssuer(t, introspection+adminYAML(store.yaml))
			admin := func(t *testing.T, body string) response {
				t.Helper()
				return do(t, http.MethodPost, inst.URL+"/v1/admin/revocations", strings.NewReader(body),
					"Content-Type", "application/json", "X-API-Key", e2eAdminKey)
			}
			claims := is.claims("alice", editorClaims)
			revoked := is.sign(t, claims)
			adminRevoke(t, inst, fmt.Sprintf(`{"iss":%q,"jti":%q}`, e2eIssuer, claims["jti"]))
			wantStatus(t, inst, revoked, http.StatusUnauthorized)
			outOfRange := []struct {
				name, body, field string
			}{
				{name: "exp 9999-12-31T23:59:59Z", field: "exp",
					body: fmt.Sprintf(`{"iss":%q,"jti":%q,"exp":"9999-12-31T23:59:59Z"}`, e2eIssuer, claims["jti"])},
				{name: "exp 2262-04-11T23:47:17Z", field: "exp",
					body: fmt.Sprintf(`{"iss":%q,"jti":%q,"exp":"2262-04-11T23:47:17Z"}`, e2eIssuer, claims["jti"])},
				{name: "exp 11000000000", field: "exp",
					body: fmt.Sprintf(`{"iss":%q,"jti":%q,"exp":%d}`, e2eIssuer, claims["jti"], farExp)},
				{name: "not_before 1600-01-01T00:00:00Z", field: "not_before",
					body: fmt.Sprintf(`{"iss":%q,"sub":"alice","not_before":"1600-01-01T00:00:00Z"}`, e2eIssuer)},
			}
			for _, tt := range outOfRange {
				t.Run(tt.name, func(t *testing.T) {
					resp := admin(t, tt.body)
					if resp.Status != http.StatusBadRequest || !strings.Contains(string(resp.Body), `"code":"invalid_request"`) {
						t.Errorf("status %d, want 400 invalid_request; body %s", resp.Status, resp.Body)
					}
					if msg := string(resp.Body); !strings.Contains(msg, tt.field+" ") || !strings.Contains(msg, "2200-01-01T00:00:00Z") {
						t.Errorf("body %s does not name %s and the range", msg, tt.field)
					}
					wantStatus(t, inst, revoked, http.StatusUnauthorized)
					wantStatus(t, inst, is.sign(t, is.claims("alice", editorClaims)), http.StatusOK)
				})
			}
			farTokens := []struct{ name, tok string }{
				{name: "JWT with exp 11000000000", tok: is.sign(t, is.claims("fiona", merged(editorClaims, map[string]any{"exp": farExp})))},
				{name: "introspected token with exp 11000000000", tok: "opaque-far-exp"},
			}
			for _, tt := range farTokens {
				t.Run(tt.name, func(t *testing.T) {
					if resp := rfc7009Revoke(t, inst, tt.tok); resp.Status != http.StatusOK {
						t.Fatalf("/v1/revoke: status %d; body %s", resp.Status, resp.Body)
					}
					wantStatus(t, inst, tt.tok, http.StatusUnauthorized)
				})
			}
		})
	}
}

// TestDamagedRevocationFile starts the binary on a revocation file that was truncated to nothing
// and on one whose pages were overwritten. Before, the first started with an empty store (the
// revoked token passed again) and the second crashed with a Go panic. Now each is a refusal to
// start: a non-zero exit and one message naming the file, the damage and the way out. Moving the
// file aside, as the message says, starts Verdict with an empty store.
func TestDamagedRevocationFile(t *testing.T) {
	inst, is := startWithIssuer(t, adminYAML(""))
	claims := is.claims("alice", editorClaims)
	adminRevoke(t, inst, fmt.Sprintf(`{"iss":%q,"jti":%q}`, e2eIssuer, claims["jti"]))
	inst.stop(t)
	db := filepath.Join(inst.Dir, "data", "revocations.db")
	whole, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	overwritten := bytes.Clone(whole)
	for i := 2 * 4096; i < len(overwritten); i++ { // every page after the two meta pages
		overwritten[i] = 0xA5
	}
	tests := []struct {
		name, damage string
		data         []byte
	}{
		{name: "truncated to 0 bytes", damage: "the file is empty", data: []byte{}},
		{name: "pages overwritten", damage: "bbolt", data: overwritten},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(db, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, verdictBin(t), "serve", "--addr", freeAddr(t), "--config", filepath.Join(inst.Dir, "verdict.yaml"))
			cmd.Dir = inst.Dir
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() == 0 {
				t.Fatalf("serve on a damaged file: %v, want a non-zero exit; output:\n%s", err, out)
			}
			last := lastLine(string(out))
			for _, want := range []string{"revocations.db", "damaged", tt.damage, "backup", "move it aside"} {
				if !strings.Contains(last, want) {
					t.Errorf("the last line does not say %q: %s", want, last)
				}
			}
			for _, trace := range []string{"panic", "goroutine "} {
				if strings.Contains(string(out), trace) {
					t.Errorf("the output holds %q:\n%s", trace, out)
				}
			}
		})
	}
	t.Run("moved aside, an empty store starts", func(t *testing.T) {
		if err := os.Rename(db, db+".damaged"); err != nil {
			t.Fatal(err)
		}
		again := startVerdict(t, inst.Dir, "--config", filepath.Join(inst.Dir, "verdict.yaml"))
		wantStatus(t, again, is.sign(t, is.claims("alice", editorClaims)), http.StatusOK)
	})
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestAdminAnswersNameTheProblem checks that the admin API's answers say what is wrong: the
// credential really missing, the unknown field, a not_before within the promised minute of
// skew, and a jti revocation whose exp is already past, which records nothing and says so.
func TestAdminAnswersNameTheProblem(t *testing.T) {
	inst, is := startWithIssuer(t, adminYAML(""))
	now := time.Now()
	tests := []struct {
		name    string
		body    string
		key     string
		status  int
		message string // substring of the answer
	}{
		{name: "no admin key", body: fmt.Sprintf(`{"iss":%q,"sub":"alice"}`, e2eIssuer), status: 401,
			message: "an admin API key is required"},
		{name: "wrong admin key", key: "not-the-key", body: fmt.Sprintf(`{"iss":%q,"sub":"alice"}`, e2eIssuer), status: 401,
			message: "the admin API key is not accepted"},
		{name: "misspelt field", key: e2eAdminKey, body: fmt.Sprintf(`{"iss":%q,"sub":"alice","notbefore":1}`, e2eIssuer), status: 400,
			message: `unknown field \"notbefore\"`},
		{name: "not_before 30s ahead", key: e2eAdminKey, body: fmt.Sprintf(`{"iss":%q,"sub":"carol","not_before":%d}`, e2eIssuer, now.Add(30*time.Second).Unix()),
			status: 200, message: `"type":"subject"`},
		{name: "jti already expired", key: e2eAdminKey, body: fmt.Sprintf(`{"iss":%q,"jti":"gone","exp":%d}`, e2eIssuer, now.Add(-time.Hour).Unix()),
			status: 200, message: `"note":"the token already expired; nothing recorded"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			headers := []string{"Content-Type", "application/json"}
			if tt.key != "" {
				headers = append(headers, "X-API-Key", tt.key)
			}
			resp := do(t, http.MethodPost, inst.URL+"/v1/admin/revocations", strings.NewReader(tt.body), headers...)
			if resp.Status != tt.status || !strings.Contains(string(resp.Body), tt.message) {
				t.Errorf("status %d, body %s; want %d with %s", resp.Status, resp.Body, tt.status, tt.message)
			}
		})
	}
	live := is.claims("dave", editorClaims)
	body := adminRevoke(t, inst, fmt.Sprintf(`{"iss":%q,"jti":%q,"exp":%v}`, e2eIssuer, live["jti"], live["exp"]))
	if _, noted := body["note"]; noted {
		t.Errorf("a live token's revocation has a note: %v", body)
	}
	wantStatus(t, inst, is.sign(t, live), http.StatusUnauthorized)
}

// TestSubjectClaimOID configures an issuer with subject_claim: oid, as for Entra ID: the
// subject id is the oid, so a subject revocation works on that id, not on the token's sub.
func TestSubjectClaimOID(t *testing.T) {
	inst, is := startWithIssuer(t, "      subject_claim: oid\n"+adminYAML(""))
	const oid = "6a1f3c2e-0000-4000-8000-00000000a11c"
	c := is.claims("pairwise-sub-for-this-app", merged(editorClaims, map[string]any{"oid": oid}))
	c["iat"] = time.Now().Add(-time.Minute).Unix()
	tok := is.sign(t, c)
	wantStatus(t, inst, tok, http.StatusOK)
	adminRevoke(t, inst, fmt.Sprintf(`{"iss":%q,"sub":%q}`, e2eIssuer, c["sub"]))
	wantStatus(t, inst, tok, http.StatusOK) // the sub claim is not the subject id here
	adminRevoke(t, inst, fmt.Sprintf(`{"iss":%q,"sub":%q}`, e2eIssuer, oid))
	resp := wantStatus(t, inst, tok, http.StatusUnauthorized)
	if !strings.Contains(string(resp.Body), "the token has been revoked") {
		t.Errorf("body %s does not say the token was revoked", resp.Body)
	}
}

// TestSecondServerOnSameDataDir: a second server on the data directory of a running one exits
// at once, saying that another process holds the revocation store and naming data_dir.
func TestSecondServerOnSameDataDir(t *testing.T) {
	inst, _ := startWithIssuer(t, adminYAML(""))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, verdictBin(t), "serve", "--addr", freeAddr(t), "--config", filepath.Join(inst.Dir, "verdict.yaml"))
	cmd.Dir = inst.Dir
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("second serve: %v, want a non-zero exit; output:\n%s", err, out)
	}
	// bbolt used to wait 2 s for the lock before it gave up.
	if took > 1500*time.Millisecond {
		t.Errorf("the second server took %v to give up, want at once", took)
	}
	last := lastLine(string(out))
	for _, want := range []string{"revocations.db", "another process", "data_dir"} {
		if !strings.Contains(last, want) {
			t.Errorf("the last line does not say %q: %s", want, last)
		}
	}
}

package tests

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// keyServer is an in-process JWKS endpoint: the issuer's keys, plus any the test adds, served
// with a status the test can change. It counts fetches.
type keyServer struct {
	*httptest.Server
	mu      sync.Mutex
	keys    []map[string]any
	status  int
	fetches atomic.Int64
}

func newKeyServer(t *testing.T, is *issuer) *keyServer {
	t.Helper()
	data, err := os.ReadFile(is.JWKSPath)
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		t.Fatal(err)
	}
	s := &keyServer{keys: set.Keys, status: http.StatusOK}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		status, body := s.status, map[string]any{"keys": s.keys}
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if status == http.StatusOK {
			_ = json.NewEncoder(w).Encode(body)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// addRSA publishes pub under kid.
func (s *keyServer) addRSA(pub *rsa.PublicKey, kid string) {
	b64 := base64.RawURLEncoding.EncodeToString
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append(s.keys, map[string]any{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
		"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes())})
}

func (s *keyServer) setStatus(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = status
}

// startWithKeyServer starts verdict trusting a fresh test issuer whose keys it fetches from an
// in-process JWKS server through jwks_url. issuerYAML is added to the issuer's entry (indented
// six spaces), extraYAML to the file.
func startWithKeyServer(t *testing.T, keys func(*issuer, *keyServer), issuerYAML, extraYAML string) (*instance, *issuer, *keyServer) {
	t.Helper()
	dir := t.TempDir()
	is := newIssuer(t, dir, e2eIssuer)
	ks := newKeyServer(t, is)
	if keys != nil {
		keys(is, ks)
	}
	cfg := fmt.Sprintf(`
tokens:
  issuers:
    - issuer: %s
      audiences: [verdict]
      jwks_url: %s/jwks.json
%s
%s`, e2eIssuer, ks.URL, issuerYAML, extraYAML)
	path := filepath.Join(dir, "verdict.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return startVerdict(t, dir, "--config", path), is, ks
}

// signAs signs claims with method and key; header entries are set over kid rsa-1 and typ at+jwt,
// a nil value deletes one.
func signAs(t *testing.T, method jwt.SigningMethod, key any, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["kid"] = "rsa-1"
	tok.Header["typ"] = "at+jwt"
	for k, v := range header {
		if v == nil {
			delete(tok.Header, k)
			continue
		}
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// signRawRS256 signs header and payload JSON exactly as given with the issuer's RSA key.
func signRawRS256(t *testing.T, is *issuer, header, payload string) string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	input := enc([]byte(header)) + "." + enc([]byte(payload))
	sig, err := jwt.SigningMethodRS256.Sign(input, is.RSA)
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + enc(sig)
}

// without returns claims with the named claims removed.
func without(c jwt.MapClaims, names ...string) jwt.MapClaims {
	for _, n := range names {
		delete(c, n)
	}
	return c
}

// tokenRow is one end-to-end token case: the Authorization header values to send and the
// answer expected.
type tokenRow struct {
	name      string
	auth      []string // Authorization header values; each is sent as its own header
	status    int
	challenge string // substring of WWW-Authenticate
}

func bearerRow(name, tok string, status int, challenge string) tokenRow {
	return tokenRow{name: name, auth: []string{"Bearer " + tok}, status: status, challenge: challenge}
}

// tokenRows are issue 4's rejections, one row each, with valid controls. The issuer's keys come
// from jwks_url, with a 1024-bit RSA key published beside them as "rsa-small"; max_lifetime is 1h.
func tokenRows(t *testing.T, is *issuer, small *rsa.PrivateKey) []tokenRow {
	const invalid = `error="invalid_token"`
	refused := func(why string) string { return invalid + `, error_description="` + why + `"` }
	now := time.Now()
	claims := func(extra map[string]any) jwt.MapClaims {
		return is.claims("alice", mergeClaims(map[string]any{"roles": []string{"editor"}, "tenant": "acme"}, extra))
	}
	valid := is.sign(t, claims(nil))
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&is.RSA.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	seg := strings.Split(valid, ".")
	enc := base64.RawURLEncoding.EncodeToString
	mallory, err := json.Marshal(claims(map[string]any{"sub": "mallory", "roles": []string{"admin"}}))
	if err != nil {
		t.Fatal(err)
	}
	validJSON, err := json.Marshal(claims(nil))
	if err != nil {
		t.Fatal(err)
	}
	es := signAs(t, jwt.SigningMethodES256, is.EC, map[string]any{"kid": "ec-1"}, claims(nil))
	esSeg := strings.Split(es, ".")
	header := func(name string, value any) string {
		return signAs(t, jwt.SigningMethodRS256, is.RSA, map[string]any{name: value}, claims(nil))
	}

	return []tokenRow{
		bearerRow("valid RS256 control", valid, 200, ""),
		bearerRow("valid ES256 control", es, 200, ""),

		bearerRow("alg none", signAs(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil, claims(nil)), 401, invalid),
		bearerRow("HS256 signed with the RSA public key", signAs(t, jwt.SigningMethodHS256, pubPEM, nil, claims(nil)), 401, invalid),
		bearerRow("signature from another key", signAs(t, jwt.SigningMethodRS256, other, nil, claims(nil)), 401, refused("the token's signature is invalid")),
		bearerRow("tampered payload", seg[0]+"."+enc(mallory)+"."+seg[2], 401, invalid),
		bearerRow("tampered signature", valid[:len(valid)-4]+flip(valid[len(valid)-4:]), 401, invalid),
		bearerRow("tampered signature encoding: non-zero trailing bits", nonCanonical(valid), 401, invalid),
		bearerRow("unknown kid after refresh", signAs(t, jwt.SigningMethodRS256, is.RSA, map[string]any{"kid": "rsa-2"}, claims(nil)), 401, refused("the token is signed with a key its issuer does not publish")),
		bearerRow("kid with path characters", signAs(t, jwt.SigningMethodRS256, is.RSA, map[string]any{"kid": "../../../../etc/passwd"}, claims(nil)), 401, invalid),
		bearerRow("kid with SQL characters", signAs(t, jwt.SigningMethodRS256, is.RSA, map[string]any{"kid": "rsa-1' OR '1'='1"}, claims(nil)), 401, invalid),
		bearerRow("jku header", header("jku", "https://evil.test/jwks.json"), 401, refused("the token's header carries a parameter that is not accepted")),
		bearerRow("x5u header", header("x5u", "https://evil.test/cert.pem"), 401, invalid),
		bearerRow("jwk header", header("jwk", map[string]any{"kty": "RSA", "n": "AQAB", "e": "AQAB"}), 401, invalid),
		bearerRow("x5c header", header("x5c", []string{"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"}), 401, invalid),
		bearerRow("crit header", header("crit", []string{"exp"}), 401, invalid),
		bearerRow("b64 false", header("b64", false), 401, invalid),
		bearerRow("nested cty JWT", header("cty", "JWT"), 401, invalid),
		bearerRow("expired", is.sign(t, claims(map[string]any{"iat": now.Add(-2 * time.Hour).Unix(), "exp": now.Add(-time.Hour).Unix()})), 401, refused("the token expired")),
		bearerRow("nbf in the future", is.sign(t, claims(map[string]any{"nbf": now.Add(5 * time.Minute).Unix()})), 401, refused("the token is not valid yet")),
		bearerRow("iat in the future", is.sign(t, claims(map[string]any{"iat": now.Add(5 * time.Minute).Unix()})), 401, refused("the token's issue time is in the future")),
		bearerRow("missing exp", is.sign(t, without(claims(nil), "exp")), 401, refused("a claim the token needs is missing or has the wrong type")),
		bearerRow("lifetime over max_lifetime", is.sign(t, claims(map[string]any{"exp": now.Add(2 * time.Hour).Unix()})), 401, refused("the token's lifetime is longer than its issuer allows")),
		bearerRow("wrong iss", is.sign(t, claims(map[string]any{"iss": "https://evil.test"})), 401, refused("the token's issuer is not accepted here")),
		bearerRow("wrong aud", is.sign(t, claims(map[string]any{"aud": "billing"})), 401, refused("the token's audience is not accepted here")),
		bearerRow("missing aud", is.sign(t, without(claims(nil), "aud")), 401, invalid),
		bearerRow("typ JWT where at+jwt is required", signAs(t, jwt.SigningMethodRS256, is.RSA, map[string]any{"typ": "JWT"}, claims(nil)), 401, refused("the token's type (typ header) is not accepted")),
		bearerRow("signed EXP beside an expired exp", is.sign(t, claims(map[string]any{
			"iat": now.Add(-2 * time.Hour).Unix(), "exp": now.Add(-time.Hour).Unix(), "EXP": now.Add(time.Hour).Unix()})), 401, invalid),
		bearerRow("duplicate claims", signRawRS256(t, is, `{"alg":"RS256","kid":"rsa-1","typ":"at+jwt"}`,
			string(validJSON[:len(validJSON)-1])+`,"sub":"mallory"}`), 401, invalid),
		bearerRow("RSA 1024-bit key published in the JWKS", signAs(t, jwt.SigningMethodRS256, small, map[string]any{"kid": "rsa-small"}, claims(nil)), 401, invalid),
		bearerRow("ECDSA r = s = 0", esSeg[0]+"."+esSeg[1]+"."+enc(make([]byte, 64)), 401, invalid),
		bearerRow("over the size cap", is.sign(t, claims(map[string]any{"pad": strings.Repeat("x", 9000)})), 401, refused("the token is too large")),
		bearerRow("opaque token without introspection", "2YotnFZFEjr1zCsicMWpAA", 401, refused("the token is malformed")),
		{name: "two Authorization headers", auth: []string{"Bearer " + valid, "Bearer " + valid}, status: 400, challenge: `error="invalid_request"`},
	}
}

func mergeClaims(ms ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// nonCanonical sets a padding bit in the last base64url character of tok: a lenient decoder
// reads the same signature, a strict one refuses it.
func nonCanonical(tok string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, tok[len(tok)-1])
	return tok[:len(tok)-1] + string(alphabet[i|1])
}

// TestTokenRejections runs every row of tokenRows against the binary, over /v1/authorize and
// forward-auth, with the issuer's keys served from an in-process JWKS endpoint.
func TestTokenRejections(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	inst, is, ks := startWithKeyServer(t, func(_ *issuer, ks *keyServer) { ks.addRSA(&small.PublicKey, "rsa-small") },
		"      max_lifetime: 1h\n      refresh_rate_limit: 50ms", "")
	readBody := `{"action":"read","resource":` + doc("acme", "bob", "internal") + `}`
	rows := tokenRows(t, is, small)
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			time.Sleep(60 * time.Millisecond) // past refresh_rate_limit, so an unknown kid refreshes
			headers := []string{"Content-Type", "application/json"}
			for _, a := range row.auth {
				headers = append(headers, "Authorization", a)
			}
			resp := do(t, http.MethodPost, inst.URL+"/v1/authorize", strings.NewReader(readBody), headers...)
			checkTokenAnswer(t, row, resp)
			if row.status == 200 && resp.json(t)["allow"] != true {
				t.Fatalf("control denied: %s", resp.Body)
			}
			if row.status != 200 {
				fwd := []string{"X-Original-Method", "GET", "X-Original-URI", "/documents/doc-42"}
				for _, a := range row.auth {
					fwd = append(fwd, "Authorization", a)
				}
				checkTokenAnswer(t, row, do(t, http.MethodGet, inst.URL+"/v1/forward-auth", nil, fwd...))
			}
		})
	}
	if n := ks.fetches.Load(); n < 2 {
		t.Errorf("JWKS fetched %d times; the unknown kids should have refreshed it", n)
	}
	out := inst.output.String()
	for _, row := range rows {
		for _, a := range row.auth {
			if tok := strings.TrimPrefix(a, "Bearer "); len(tok) > 20 && strings.Contains(out, tok) {
				t.Errorf("row %q: the server log contains the token", row.name)
			}
		}
	}
	if !strings.Contains(out, "refusing a published key") {
		t.Error("the 1024-bit key was not logged as refused")
	}
}

func checkTokenAnswer(t *testing.T, row tokenRow, resp response) {
	t.Helper()
	if resp.Status != row.status {
		t.Fatalf("status %d, want %d; body %s", resp.Status, row.status, resp.Body)
	}
	if got := resp.Header.Get("WWW-Authenticate"); !strings.Contains(got, row.challenge) {
		t.Errorf("WWW-Authenticate %q lacks %q", got, row.challenge)
	}
	// The body's message is the challenge's error_description, word for word.
	if _, why, ok := strings.Cut(row.challenge, `error_description="`); ok {
		why = strings.TrimSuffix(why, `"`)
		if msg := resp.json(t)["error"].(map[string]any)["message"]; msg != why {
			t.Errorf("message %q, want %q", msg, why)
		}
	}
	for _, a := range row.auth {
		if tok := strings.TrimPrefix(a, "Bearer "); strings.Contains(string(resp.Body), tok) {
			t.Fatal("the response echoes the token")
		}
	}
}

// TestTokenKeysUnavailableUntilTheyArrive starts verdict while the JWKS endpoint fails: startup
// succeeds, tokens get 503, and once the endpoint recovers the next request past the rate limit
// is served.
func TestTokenKeysUnavailableUntilTheyArrive(t *testing.T) {
	inst, is, ks := startWithKeyServer(t, func(_ *issuer, s *keyServer) { s.setStatus(http.StatusServiceUnavailable) },
		"      refresh_rate_limit: 200ms", "")
	body := `{"action":"read","resource":` + doc("acme", "bob", "internal") + `}`
	tok := is.sign(t, is.claims("alice", map[string]any{"roles": []string{"editor"}, "tenant": "acme"}))
	resp := authorize(t, inst, tok, body)
	if resp.Status != http.StatusServiceUnavailable || resp.Header.Get("WWW-Authenticate") != "" {
		t.Fatalf("status %d, WWW-Authenticate %q; want 503 without a challenge", resp.Status, resp.Header.Get("WWW-Authenticate"))
	}
	ks.setStatus(http.StatusOK)
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp = authorize(t, inst, tok, body)
		if resp.Status == http.StatusOK {
			break
		}
		if resp.Status != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("status %d after the JWKS recovered: %s", resp.Status, resp.Body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Keys in hand: an outage from now on keeps them.
	ks.setStatus(http.StatusInternalServerError)
	time.Sleep(250 * time.Millisecond)
	tok2 := is.sign(t, is.claims("alice", map[string]any{"roles": []string{"editor"}, "tenant": "acme"}))
	if resp := authorize(t, inst, signAs(t, jwt.SigningMethodRS256, is.RSA, map[string]any{"kid": "rsa-9"}, is.claims("alice", nil)), body); resp.Status != 401 {
		t.Fatalf("unknown kid during an outage: status %d, want 401", resp.Status)
	}
	if resp := authorize(t, inst, tok2, body); resp.Status != 200 {
		t.Fatalf("known key during an outage: status %d, want 200: %s", resp.Status, resp.Body)
	}
}

// introspectionServer is an in-process RFC 7662 endpoint for the binary: it requires
// client_secret_basic with the form-urlencoded credentials and answers per token.
type introspectionServer struct {
	*httptest.Server
	mu      sync.Mutex
	answers map[string]string // token → JSON body; "500" answers status 500
	calls   atomic.Int64
}

const (
	e2eClientID = "verdict e2e"
	e2eSecret   = "p@ss:word/+"
)

func newIntrospectionServer(t *testing.T) *introspectionServer {
	t.Helper()
	s := &introspectionServer{answers: map[string]string{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.calls.Add(1)
		user, pass, _ := r.BasicAuth()
		id, _ := url.QueryUnescape(user)
		secret, _ := url.QueryUnescape(pass)
		if r.Method != http.MethodPost || r.ParseForm() != nil || id != e2eClientID || secret != e2eSecret ||
			r.PostForm.Get("token_type_hint") != "access_token" {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		s.mu.Lock()
		body, ok := s.answers[r.PostForm.Get("token")]
		s.mu.Unlock()
		switch {
		case !ok:
			body = `{"active":false}`
		case body == "500":
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *introspectionServer) answer(tok, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers[tok] = body
}

// TestOpaqueTokens configures introspection against an in-process authorization server and
// checks the binary routes opaque tokens to it, and only those.
func TestOpaqueTokens(t *testing.T) {
	as := newIntrospectionServer(t)
	inst, is := startWithIssuer(t, fmt.Sprintf(`  introspection:
    url: %s
    client_id: %q
    client_secret: %q
    issuer: %s
    audiences: [verdict]
`, as.URL, e2eClientID, e2eSecret, e2eIssuer))
	exp := time.Now().Add(10 * time.Minute).Unix()
	active := func(extra string) string {
		return fmt.Sprintf(`{"active":true,"iss":%q,"aud":"verdict","sub":"olivia","exp":%d,"client_id":"svc",`+
			`"scope":"document:read","roles":["editor"],"tenant":"acme"%s}`, e2eIssuer, exp, extra)
	}
	as.answer("opaque-active", active(""))
	as.answer("opaque-expired", strings.Replace(active(""), fmt.Sprint(exp), fmt.Sprint(time.Now().Add(-time.Minute).Unix()), 1))
	as.answer("opaque-other-aud", strings.Replace(active(""), `"aud":"verdict"`, `"aud":"billing"`, 1))
	as.answer("opaque-refresh", active(`,"token_type":"refresh_token"`))
	as.answer("opaque-as-down", "500")
	as.answer("a.b.c", active(""))
	body := `{"action":"read","resource":` + doc("acme", "bob", "internal") + `}`
	tests := []struct {
		tok    string
		status int
	}{
		{"opaque-active", 200},
		{"opaque-inactive", 401},
		{"opaque-expired", 401},
		{"opaque-other-aud", 401},
		{"opaque-refresh", 401},
		{"opaque-as-down", 503},
		{"a.b.c", 401}, // JWT-shaped: never introspected
		{is.sign(t, is.claims("alice", map[string]any{"roles": []string{"editor"}, "tenant": "acme"})), 200},
	}
	for _, tt := range tests {
		t.Run(tt.tok[:min(len(tt.tok), 20)], func(t *testing.T) {
			resp := authorize(t, inst, tt.tok, body)
			if resp.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.Status, tt.status, resp.Body)
			}
			if tt.status == 200 && resp.json(t)["allow"] != true {
				t.Fatalf("denied: %s", resp.Body)
			}
		})
	}
	if n := as.calls.Load(); n != 6 {
		t.Errorf("introspection calls = %d, want 6 (one per opaque token)", n)
	}
	start := time.Now()
	for range 20 {
		if resp := authorize(t, inst, "opaque-active", body); resp.Status != 200 {
			t.Fatalf("cached opaque token: status %d", resp.Status)
		}
	}
	t.Logf("20 cached opaque-token decisions in %s", time.Since(start))
	if n := as.calls.Load(); n != 6 {
		t.Errorf("introspection calls = %d after cached requests, want 6", n)
	}
}

// TestTokenStepUpNeedsACRAndAuthTime checks, through the binary and the built-in policy, that a
// missing acr or auth_time never satisfies a step-up requirement: a sensitive action at medium
// risk gets the step_up obligation unless the token shows MFA (amr or acr) with a fresh auth_time.
// Each row's context keeps the risk medium whether or not the server's clock is in business hours
// (off_hours adds 10).
func TestTokenStepUpNeedsACRAndAuthTime(t *testing.T) {
	inst, is := startWithIssuer(t, "")
	admin := map[string]any{"roles": []string{"admin"}, "tenant": "acme"}
	now := time.Now().Unix()
	tests := []struct {
		name    string
		claims  jwt.MapClaims
		context string // default {"new_device":true}
		stepUp  bool
	}{
		{name: "MFA amr and a fresh auth_time: allowed", claims: is.claims("ada", admin)},
		{name: "step-up acr and a fresh auth_time: allowed",
			claims: is.claims("ada", mergeClaims(admin, map[string]any{"amr": []string{"pwd"}, "acr": "urn:verdict:mfa"}))},
		{name: "MFA amr without auth_time", claims: without(is.claims("ada", admin), "auth_time"), stepUp: true},
		{name: "step-up acr without auth_time",
			claims: without(is.claims("ada", mergeClaims(admin, map[string]any{"amr": []string{"pwd"}, "acr": "urn:verdict:mfa"})), "auth_time"),
			stepUp: true},
		{name: "auth_time null", claims: is.claims("ada", mergeClaims(admin, map[string]any{"auth_time": nil})), stepUp: true},
		{name: "auth_time as a string", claims: is.claims("ada", mergeClaims(admin, map[string]any{"auth_time": fmt.Sprint(now)})), stepUp: true},
		{name: "fresh auth_time without acr or MFA amr",
			claims: without(is.claims("ada", mergeClaims(admin, map[string]any{"amr": []string{"pwd"}})), "acr"), stepUp: true},
		{name: "no acr, no amr, no auth_time", claims: without(is.claims("ada", admin), "acr", "amr", "auth_time"),
			context: `{}`, stepUp: true},
		{name: "MFA with an auth_time older than max_age", claims: is.claims("ada", mergeClaims(admin, map[string]any{"auth_time": now - 3600})),
			context: `{"new_device":true,"ip_reputation":"suspicious"}`, stepUp: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.context == "" {
				tt.context = `{"new_device":true}`
			}
			body := `{"action":"delete","resource":` + doc("acme", "bob", "internal") + `,"context":` + tt.context + `}`
			resp := authorize(t, inst, is.sign(t, tt.claims), body)
			if resp.Status != 200 {
				t.Fatalf("status %d: %s", resp.Status, resp.Body)
			}
			got := resp.json(t)
			obligations := fmt.Sprint(got["obligations"])
			hasStepUp := strings.Contains(obligations, "type:step_up")
			if hasStepUp != tt.stepUp || got["allow"] == tt.stepUp {
				t.Fatalf("allow %v, obligations %s; want step-up %v", got["allow"], obligations, tt.stepUp)
			}
			if tt.stepUp && (!strings.Contains(obligations, "urn:verdict:mfa") || !strings.Contains(obligations, "max_age:300")) {
				t.Fatalf("step_up obligation without acr_values or max_age: %s", obligations)
			}
		})
	}
}

// TestTokenStepUpForwardAuthChallenge checks forward-auth turns a step_up obligation into the RFC 9470
// challenge, on the standard test bundle whose approve action needs acr urn:verdict:mfa.
func TestTokenStepUpForwardAuthChallenge(t *testing.T) {
	bundle, err := filepath.Abs("testdata/standard")
	if err != nil {
		t.Fatal(err)
	}
	inst, is := startWithIssuer(t, "", "--bundle", bundle)
	for _, tc := range []struct {
		name   string
		claims jwt.MapClaims
		status int
	}{
		{name: "no acr", claims: without(is.claims("alice", nil), "acr"), status: 401},
		{name: "another acr", claims: is.claims("alice", map[string]any{"acr": "urn:verdict:pwd"}), status: 401},
		{name: "step-up acr", claims: is.claims("alice", map[string]any{"acr": "urn:verdict:mfa"}), status: 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := do(t, http.MethodGet, inst.URL+"/v1/forward-auth", nil, "Authorization", "Bearer "+is.sign(t, tc.claims),
				"X-Original-Method", "POST", "X-Original-URI", "/records/record-1/approve")
			if resp.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.Status, tc.status, resp.Body)
			}
			got := resp.Header.Get("WWW-Authenticate")
			if tc.status == 401 && (!strings.Contains(got, `error="insufficient_user_authentication"`) ||
				!strings.Contains(got, `acr_values="urn:verdict:mfa"`) || !strings.Contains(got, `max_age="300"`)) {
				t.Fatalf("WWW-Authenticate %q", got)
			}
		})
	}
}

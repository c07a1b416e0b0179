// Package tests holds Verdict's end-to-end tests: they start the built binary (VERDICT_BIN, or
// one built on the fly) on a free loopback port and talk to it over real HTTP.
package tests

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// verdictBin returns the binary under test: $VERDICT_BIN, or one built once per test run.
func verdictBin(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("VERDICT_BIN"); bin != "" {
		return bin
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "verdict-e2e-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "verdict")
		out, err := exec.Command("go", "build", "-o", builtBin, "../cmd/verdict").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// instance is one running verdict process.
type instance struct {
	URL string
	Dir string
	// output is what the process wrote to stdout and stderr so far.
	output *syncBuffer
	cmd    *exec.Cmd
	// exited is closed once the process has exited and been reaped.
	exited chan struct{}
}

// stop interrupts the process, as an operator's restart would, and waits until it is gone.
func (inst *instance) stop(t *testing.T) {
	t.Helper()
	_ = inst.cmd.Process.Signal(os.Interrupt)
	select {
	case <-inst.exited:
	case <-time.After(15 * time.Second):
		_ = inst.cmd.Process.Kill()
		<-inst.exited
		t.Fatal("verdict did not stop within 15s of SIGINT")
	}
}

// syncBuffer collects a process's output; safe for the process writer and the test reader.
// The buffer is a named field, not embedded, so io.Copy cannot reach its ReadFrom unlocked.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startVerdict runs `verdict serve --addr <free> args...` in dir (a temp dir when empty) and
// waits until /ready answers 200. The process is stopped when the test ends.
func startVerdict(t *testing.T, dir string, args ...string) *instance {
	t.Helper()
	return startVerdictEnv(t, dir, nil, args...)
}

// startVerdictEnv is startVerdict with env (NAME=value) added last to the process environment,
// so it overrides the harness's own decision-log settings.
func startVerdictEnv(t *testing.T, dir string, env []string, args ...string) *instance {
	t.Helper()
	inst := launchVerdict(t, dir, env, args...)
	inst.waitReady(t, http.DefaultClient)
	return inst
}

// launchVerdict starts `verdict serve --addr <free> args...` in dir (a temp dir when empty)
// without waiting for it; the process is stopped when the test ends.
func launchVerdict(t *testing.T, dir string, env []string, args ...string) *instance {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	addr := freeAddr(t)
	cmd := exec.Command(verdictBin(t), append([]string{"serve", "--addr", addr}, args...)...)
	cmd.Dir = dir
	// No shutdown delay: nothing balances load in front of these instances, and every test
	// would otherwise wait for it when it stops its instance.
	cmd.Env = append(os.Environ(), "VERDICT_DECISION_LOG_SINK=file", "VERDICT_DECISION_LOG_PATH="+filepath.Join(dir, "decisions.log"),
		"VERDICT_SERVER_SHUTDOWN_DELAY=0s")
	cmd.Env = append(cmd.Env, env...)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	cmd.Stdout = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	inst := &instance{URL: "http://" + addr, Dir: dir, cmd: cmd, output: stderr, exited: done}
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("verdict output:\n%s", stderr.String())
		}
	})
	return inst
}

// waitReady waits until inst's /ready answers 200 to client.
func (inst *instance) waitReady(t *testing.T, client *http.Client) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := client.Get(inst.URL + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-inst.exited:
			t.Fatalf("verdict exited before it was ready; output:\n%s", inst.output.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("verdict did not become ready at %s; output:\n%s", inst.URL, inst.output.String())
}

// response is an HTTP answer with its body read.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.Body, err)
	}
	return m
}

// do sends one request; headers are name, value pairs.
func do(t *testing.T, method, url string, body io.Reader, headers ...string) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// authorize posts a native decision request with a bearer token (none when tok is "").
func authorize(t *testing.T, inst *instance, tok, body string) response {
	t.Helper()
	headers := []string{"Content-Type", "application/json"}
	if tok != "" {
		headers = append(headers, "Authorization", "Bearer "+tok)
	}
	return do(t, http.MethodPost, inst.URL+"/v1/authorize", strings.NewReader(body), headers...)
}

// issuer is a test identity provider: an RSA and an EC key published as a JWKS file.
type issuer struct {
	URL      string
	RSA      *rsa.PrivateKey
	EC       *ecdsa.PrivateKey
	JWKSPath string
}

func newIssuer(t *testing.T, dir, url string) *issuer {
	t.Helper()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b64 := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	jwks := map[string]any{"keys": []map[string]any{
		{"kty": "RSA", "kid": "rsa-1", "use": "sig", "alg": "RS256",
			"n": b64(rsaKey.N.Bytes()), "e": b64(big.NewInt(int64(rsaKey.E)).Bytes())},
		{"kty": "EC", "kid": "ec-1", "use": "sig", "alg": "ES256", "crv": "P-256",
			"x": b64(ecKey.X.FillBytes(make([]byte, 32))), "y": b64(ecKey.Y.FillBytes(make([]byte, 32)))},
	}}
	data, err := json.Marshal(jwks)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "jwks.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return &issuer{URL: url, RSA: rsaKey, EC: ecKey, JWKSPath: path}
}

// claims returns valid RFC 9068 claims for sub, with extra merged over them.
func (is *issuer) claims(sub string, extra map[string]any) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{
		"iss": is.URL, "aud": "verdict", "sub": sub, "client_id": "e2e",
		"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(), "jti": fmt.Sprintf("%s-%d", sub, now.UnixNano()),
		"auth_time": now.Unix(), "amr": []string{"pwd", "otp"},
	}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

// sign signs claims with the RSA key under kid rsa-1 and typ at+jwt.
func (is *issuer) sign(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = "rsa-1"
	tok.Header["typ"] = "at+jwt"
	s, err := tok.SignedString(is.RSA)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

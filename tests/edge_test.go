package tests

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key := newECKey(t)
	tmpl := &x509.Certificate{SerialNumber: serial(t), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func newECKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func serial(t *testing.T) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// issue signs a certificate for cn (a server certificate for 127.0.0.1 too when server),
// returning the certificate and key as PEM.
func (ca *testCA) issue(t *testing.T, cn string, server bool) (certPEM, keyPEM []byte) {
	t.Helper()
	key := newECKey(t)
	tmpl := &x509.Certificate{SerialNumber: serial(t), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}

// clientPair is a client certificate for cn signed by ca, ready for a tls.Config.
func (ca *testCA) clientPair(t *testing.T, cn string) tls.Certificate {
	t.Helper()
	pair, err := tls.X509KeyPair(ca.issue(t, cn, false))
	if err != nil {
		t.Fatal(err)
	}
	return pair
}

// tlsClient trusts roots and presents cert, when given, whatever CAs the server names; it
// opens a new connection for every request, so each one sees the certificate served at the time.
func tlsClient(roots *x509.CertPool, cert ...tls.Certificate) *http.Client {
	tc := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	if len(cert) > 0 {
		tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert[0], nil }
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, TLSClientConfig: tc}}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// edgeServer is a verdict serving TLS with the given client_auth, an admin listener, CORS for
// one origin, a rate limit of 2 requests per subject, and AuthZEN PEPs authenticated by
// client certificate.
type edgeServer struct {
	inst      *instance
	is        *issuer
	adminURL  string
	grpcAddr  string
	ca        *testCA
	roots     *x509.CertPool
	certPath  string
	keyPath   string
	serverCA  *testCA
	clientDir string
}

func startEdge(t *testing.T, clientAuth string) *edgeServer {
	t.Helper()
	dir := t.TempDir()
	e := &edgeServer{is: newIssuer(t, dir, e2eIssuer), ca: newTestCA(t, "pep-ca"), serverCA: newTestCA(t, "server-ca"),
		certPath: filepath.Join(dir, "tls.crt"), keyPath: filepath.Join(dir, "tls.key")}
	e.roots = x509.NewCertPool()
	e.roots.AddCert(e.serverCA.cert)
	certPEM, keyPEM := e.serverCA.issue(t, "verdict-1", true)
	writeFile(t, e.certPath, certPEM)
	writeFile(t, e.keyPath, keyPEM)
	caPath := filepath.Join(dir, "client-ca.pem")
	writeFile(t, caPath, e.ca.pem)
	adminAddr := freeAddr(t)
	e.grpcAddr = freeAddr(t)
	cfg := fmt.Sprintf(`
server:
  admin_addr: %s
  grpc_addr: %s
  tls: {cert_file: %s, key_file: %s, client_ca: %s, client_auth: %s}
  cors: {allowed_origins: ['https://app.example.com']}
  rate_limit: {key: subject, rate: 0.01, burst: 2}
authzen: {pep_auth: mtls, client_cert_names: [pep-gateway]}
tokens:
  issuers:
    - {issuer: %s, audiences: [verdict], jwks_file: %s}
`, adminAddr, e.grpcAddr, e.certPath, e.keyPath, caPath, clientAuth, e2eIssuer, e.is.JWKSPath)
	path := filepath.Join(dir, "verdict.yaml")
	writeFile(t, path, []byte(cfg))
	e.inst = launchVerdict(t, dir, nil, "--config", path)
	e.inst.URL = strings.Replace(e.inst.URL, "http://", "https://", 1)
	e.adminURL = "https://" + adminAddr
	e.inst.waitReady(t, tlsClient(e.roots, e.ca.clientPair(t, "probe")))
	return e
}

// send sends one request with client and returns the answer, or the transport error.
func send(client *http.Client, method, url, body string, headers ...string) (response, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return response{}, err
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}, err
}

const edgeEvaluation = `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"document","id":"d"}}`

// TestEdgeTLS runs one server with TLS (client certificates optional), the admin listener,
// CORS and a rate limit, and checks what each kind of caller gets.
func TestEdgeTLS(t *testing.T) {
	e := startEdge(t, "optional")
	anonymous := tlsClient(e.roots)
	pep := tlsClient(e.roots, e.ca.clientPair(t, "pep-gateway"))
	t.Run("client certificates", func(t *testing.T) {
		tests := []struct {
			name    string
			client  *http.Client
			status  int // 0: the handshake must fail
			code    string
			tlsOnly bool
		}{
			{name: "no client certificate: 401 from AuthZEN", client: anonymous, status: 401, code: "unauthorized"},
			{name: "certificate of the CA, a listed name", client: pep, status: 200},
			{name: "certificate of the CA, a name not listed", client: tlsClient(e.roots, e.ca.clientPair(t, "intruder")),
				status: 403, code: "access_denied"},
			{name: "certificate of another CA: no connection", client: tlsClient(e.roots, newTestCA(t, "other").clientPair(t, "pep-gateway"))},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r, err := send(tt.client, http.MethodPost, e.inst.URL+"/access/v1/evaluation", edgeEvaluation, "Content-Type", "application/json")
				if tt.status == 0 {
					if err == nil {
						t.Fatalf("status %d, want the TLS handshake refused", r.Status)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if r.Status != tt.status || !strings.Contains(string(r.Body), tt.code) {
					t.Errorf("status %d, body %s; want %d %s", r.Status, r.Body, tt.status, tt.code)
				}
			})
		}
		if _, err := send(http.DefaultClient, http.MethodGet, strings.Replace(e.inst.URL, "https:", "http:", 1)+"/health", ""); err == nil {
			t.Error("plain HTTP answered on the TLS port")
		}
		old := &tls.Config{RootCAs: e.roots, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}
		if conn, err := tls.Dial("tcp", strings.TrimPrefix(e.inst.URL, "https://"), old); err == nil {
			conn.Close()
			t.Error("a TLS 1.1 client was served; the minimum is TLS 1.2")
		}
	})
	t.Run("admin listener", func(t *testing.T) {
		for _, tt := range []struct {
			name, url string
			status    int
		}{
			{name: "metrics absent from the public port", url: e.inst.URL + "/metrics", status: 404},
			{name: "status absent from the public port", url: e.inst.URL + "/v1/status", status: 404},
			{name: "health on the public port", url: e.inst.URL + "/health", status: 200},
			{name: "metrics on the admin port, no client certificate", url: e.adminURL + "/metrics", status: 200},
			{name: "ready on the admin port", url: e.adminURL + "/ready", status: 200},
		} {
			r, err := send(anonymous, http.MethodGet, tt.url, "")
			if err != nil || r.Status != tt.status {
				t.Errorf("%s: status %d, error %v; want %d", tt.name, r.Status, err, tt.status)
			}
		}
	})
	t.Run("CORS preflight", func(t *testing.T) {
		for _, tt := range []struct {
			origin, want string
		}{
			{origin: "https://app.example.com", want: "https://app.example.com"},
			{origin: "https://evil.example.com", want: ""},
		} {
			r, err := send(anonymous, http.MethodOptions, e.inst.URL+"/v1/authorize", "",
				"Origin", tt.origin, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization")
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Header.Get("Access-Control-Allow-Origin"); got != tt.want {
				t.Errorf("origin %s: Access-Control-Allow-Origin %q, want %q (status %d)", tt.origin, got, tt.want, r.Status)
			}
			if tt.want != "" && (r.Status != 204 || !strings.Contains(r.Header.Get("Access-Control-Allow-Methods"), "POST")) {
				t.Errorf("origin %s: status %d, headers %v", tt.origin, r.Status, r.Header)
			}
		}
	})
	t.Run("rate limit", func(t *testing.T) {
		tok := e.is.sign(t, e.is.claims("rate-limited", nil))
		body := `{"action":"read","resource":{"type":"document","id":"d"}}`
		for i, want := range []int{200, 200, 429} {
			r, err := send(anonymous, http.MethodPost, e.inst.URL+"/v1/authorize", body,
				"Content-Type", "application/json", "Authorization", "Bearer "+tok)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != want {
				t.Fatalf("request %d: status %d, want %d; body %s", i+1, r.Status, want, r.Body)
			}
			if want == 429 && (r.Header.Get("Retry-After") == "" || !strings.Contains(string(r.Body), `"code":"rate_limited"`)) {
				t.Errorf("429 without Retry-After or the rate_limited code: %v %s", r.Header, r.Body)
			}
		}
		r, err := send(anonymous, http.MethodGet, e.adminURL+"/metrics", "")
		if err != nil || !strings.Contains(string(r.Body), "verdict_rate_limited_total 1") {
			t.Errorf("metrics lack verdict_rate_limited_total 1 (error %v)", err)
		}
	})
	t.Run("certificate replaced on disk", func(t *testing.T) {
		certPEM, keyPEM := e.serverCA.issue(t, "verdict-2", true)
		writeFile(t, e.keyPath, keyPEM)
		writeFile(t, e.certPath, certPEM)
		deadline := time.Now().Add(10 * time.Second)
		for {
			served := servedCommonName(t, e.inst.URL, e.roots)
			if served == "verdict-2" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("still serving %q 10s after the certificate was replaced", served)
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
}

// servedCommonName is the common name of the certificate a new connection to url is served.
func servedCommonName(t *testing.T, url string, roots *x509.CertPool) string {
	t.Helper()
	conn, err := tls.Dial("tcp", strings.TrimPrefix(url, "https://"), &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].Subject.CommonName
}

// TestEdgeTLSRequire checks client_auth require: without a certificate of the CA there is no
// connection at all.
func TestEdgeTLSRequire(t *testing.T) {
	e := startEdge(t, "require")
	if _, err := send(tlsClient(e.roots), http.MethodGet, e.inst.URL+"/health", ""); err == nil {
		t.Error("a client without a certificate was served")
	}
	r, err := send(tlsClient(e.roots, e.ca.clientPair(t, "pep-gateway")), http.MethodPost, e.inst.URL+"/access/v1/evaluation",
		edgeEvaluation, "Content-Type", "application/json")
	if err != nil || r.Status != 200 {
		t.Errorf("PEP with its certificate: status %d, error %v", r.Status, err)
	}
	if r, err := send(tlsClient(e.roots), http.MethodGet, e.adminURL+"/ready", ""); err != nil || r.Status != 200 {
		t.Errorf("admin port without a client certificate: status %d, error %v; want 200", r.Status, err)
	}
	t.Run("gRPC ext_authz speaks the same TLS", func(t *testing.T) {
		pep := e.ca.clientPair(t, "envoy")
		tests := []struct {
			name    string
			creds   credentials.TransportCredentials
			serving bool
		}{
			{name: "client certificate of the CA", serving: true, creds: credentials.NewTLS(&tls.Config{RootCAs: e.roots,
				MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pep}})},
			{name: "no client certificate", creds: credentials.NewTLS(&tls.Config{RootCAs: e.roots, MinVersion: tls.VersionTLS12})},
			{name: "plaintext", creds: insecure.NewCredentials()},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				conn, err := grpc.NewClient(e.grpcAddr, grpc.WithTransportCredentials(tt.creds))
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
				defer cancel()
				resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
				if tt.serving != (err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING) {
					t.Errorf("health: %v, error %v; want serving %v", resp.GetStatus(), err, tt.serving)
				}
			})
		}
	})
}

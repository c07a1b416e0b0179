package decisionlog

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/verdict-pdp/verdict/pdp/config"
)

// TestHTTPSinkMutualTLS: with ca_file, cert_file and key_file the sink trusts the receiver's
// CA and presents its client certificate; a receiver that requires one gets every record.
func TestHTTPSinkMutualTLS(t *testing.T) {
	dir := t.TempDir()
	clientCert, clientPool := selfSigned(t, dir)
	rc := &receiver{ids: map[string]int{}, bearer: "s3cret"}
	srv := httptest.NewUnstartedServer(rc)
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clientPool}
	srv.StartTLS()
	defer srv.Close()
	caFile := filepath.Join(dir, "ca.pem")
	writePEM(t, caFile, "CERTIFICATE", srv.Certificate().Raw)

	cfg := config.DecisionLog{Sink: "http", Buffer: 64, HTTP: &config.DecisionLogHTTP{
		URL: srv.URL, BearerToken: "s3cret", CAFile: caFile, CertFile: clientCert[0], KeyFile: clientCert[1], FlushInterval: 10 * time.Millisecond,
	}}
	cfg.SetDefaults()
	l, err := New(cfg, dir, Deps{Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	logN(l, 0, 10)
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := l.Stats(); st.Sent != 10 || rc.received() != 10 {
		t.Errorf("stats %+v, received %d; want 10 sent over mTLS", st, rc.received())
	}
}

// TestSpillSurvivesRestart: batches spilled while the receiver was down are sent by the next
// process that opens the same data directory.
func TestSpillSurvivesRestart(t *testing.T) {
	rc := &receiver{ids: map[string]int{}, bearer: "s3cret"}
	rc.down.Store(true)
	srv := httptest.NewServer(rc)
	defer srv.Close()
	dir := t.TempDir()
	open := func() *Logger {
		cfg := config.DecisionLog{Sink: "http", Buffer: 256, HTTP: &config.DecisionLogHTTP{
			URL: srv.URL, BearerToken: "s3cret", SpillBytes: 1 << 20, FlushInterval: 10 * time.Millisecond,
			MinRetryDelay: 10 * time.Millisecond, MaxRetryDelay: 20 * time.Millisecond,
		}}
		cfg.SetDefaults()
		l, err := New(cfg, dir, Deps{Logger: discard})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	first := open()
	logN(first, 0, 40)
	_ = first.Close(context.Background())
	if st := first.Stats(); st.Spilled != 40 || st.Sent != 0 {
		t.Fatalf("first process: %+v; want all 40 spilled", st)
	}
	rc.down.Store(false)
	second := open()
	waitFor(t, func() bool { return rc.received() == 40 })
	if err := second.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// selfSigned writes a self-signed client certificate and key under dir and returns their
// files and a pool trusting it.
func selfSigned(t *testing.T, dir string) ([2]string, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "verdict"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, BasicConstraintsValid: true, IsCA: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	files := [2]string{filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem")}
	writePEM(t, files[0], "CERTIFICATE", der)
	writePEM(t, files[1], "PRIVATE KEY", keyDER)
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return files, pool
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

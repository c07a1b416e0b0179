package servertls

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/verdict-pdp/verdict/pdp/config"
)

// writePair writes a self-signed certificate for cn and its key as PEM files in dir.
func writePair(t *testing.T, dir, cn string) (certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{cn}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	write(t, certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	write(t, keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	return certPath, keyPath
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func commonName(t *testing.T, c *tls.Certificate) string {
	t.Helper()
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return leaf.Subject.CommonName
}

// fakeClock is a clock the test moves.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

func TestReload(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath := writePair(t, dir, "first")
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	tc, err := New(config.TLS{CertFile: certPath, KeyFile: keyPath}, Deps{Logger: slog.New(slog.DiscardHandler), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if tc.MinVersion != tls.VersionTLS12 || tc.ClientAuth != tls.NoClientCert {
		t.Errorf("MinVersion %x, ClientAuth %v; want TLS 1.2 and no client certificate", tc.MinVersion, tc.ClientAuth)
	}
	serving := func() string {
		c, err := tc.GetCertificate(&tls.ClientHelloInfo{})
		if err != nil {
			t.Fatal(err)
		}
		return commonName(t, c)
	}
	steps := []struct {
		name    string
		change  func()
		advance time.Duration
		want    string
	}{
		{name: "initial pair", want: "first"},
		{name: "replaced, within the check interval", change: func() {
			writePair(t, dir, "second")
			future := time.Now().Add(time.Minute)
			for _, p := range []string{certPath, keyPath} {
				if err := os.Chtimes(p, future, future); err != nil {
					t.Fatal(err)
				}
			}
		}, want: "first"},
		{name: "after the check interval", advance: CheckInterval, want: "second"},
		{name: "a broken pair keeps the last good one", change: func() { write(t, keyPath, []byte("not a key")) }, advance: CheckInterval, want: "second"},
		{name: "a missing file keeps the last good one", change: func() { _ = os.Remove(certPath) }, advance: CheckInterval, want: "second"},
		{name: "a good pair again", change: func() { writePair(t, dir, "third") }, advance: CheckInterval, want: "third"},
	}
	for _, st := range steps {
		if st.change != nil {
			st.change()
		}
		clock.now = clock.now.Add(st.advance)
		if got := serving(); got != st.want {
			t.Errorf("%s: serving %q, want %q", st.name, got, st.want)
		}
	}
}

func TestNew(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath := writePair(t, dir, "verdict")
	caPath := filepath.Join(dir, "ca.pem")
	caPEM, err := os.ReadFile(certPath)
	if err != nil {
		t.Fatal(err)
	}
	write(t, caPath, caPEM)
	junk := filepath.Join(dir, "junk.pem")
	write(t, junk, []byte("no PEM here"))
	tests := []struct {
		name     string
		cfg      config.TLS
		wantAuth tls.ClientAuthType
		wantErr  string
	}{
		{name: "no client ca", cfg: config.TLS{CertFile: certPath, KeyFile: keyPath}, wantAuth: tls.NoClientCert},
		{name: "client ca, require", cfg: config.TLS{CertFile: certPath, KeyFile: keyPath, ClientCA: caPath, ClientAuth: "require"},
			wantAuth: tls.RequireAndVerifyClientCert},
		{name: "client ca, optional", cfg: config.TLS{CertFile: certPath, KeyFile: keyPath, ClientCA: caPath, ClientAuth: "optional"},
			wantAuth: tls.VerifyClientCertIfGiven},
		{name: "missing certificate", cfg: config.TLS{CertFile: filepath.Join(dir, "none.pem"), KeyFile: keyPath}, wantErr: "server.tls"},
		{name: "key that is not a key", cfg: config.TLS{CertFile: certPath, KeyFile: junk}, wantErr: "server.tls"},
		{name: "missing client ca", cfg: config.TLS{CertFile: certPath, KeyFile: keyPath, ClientCA: filepath.Join(dir, "none.pem")},
			wantErr: "server.tls.client_ca"},
		{name: "client ca without certificates", cfg: config.TLS{CertFile: certPath, KeyFile: keyPath, ClientCA: junk},
			wantErr: "holds no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc, err := New(tt.cfg, Deps{Logger: slog.New(slog.DiscardHandler)})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New error = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.ClientAuth != tt.wantAuth {
				t.Errorf("ClientAuth = %v, want %v", tc.ClientAuth, tt.wantAuth)
			}
			if tt.wantAuth != tls.NoClientCert && tc.ClientCAs == nil {
				t.Error("ClientCAs not set")
			}
		})
	}
}

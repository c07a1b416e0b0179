// Package servertls builds the server-side TLS configuration of Verdict's listeners from
// server.tls: TLS 1.2 at least, a certificate pair re-read when its files change on disk, and
// client certificates verified against server.tls.client_ca when it is set. The HTTP listener
// and any other listener that must speak "the same TLS as the HTTP listener" (gRPC ext_authz)
// call New with the same section. It knows nothing of HTTP.
package servertls

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/verdict-pdp/verdict/pdp/config"
)

// CheckInterval is the least time between two looks at the certificate files: a handshake
// stats them at most this often, and a new pair is served at most this long after it is written.
const CheckInterval = time.Second

// Deps are what New needs besides the configuration.
type Deps struct {
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// New returns the TLS configuration of cfg. It reads the certificate pair and the client CA
// now and fails if either is unusable; later changes to the pair are picked up by
// GetCertificate, while a pair that no longer loads leaves the last good one served.
func New(cfg config.TLS, deps Deps) (*tls.Config, error) {
	certs, err := newCertFiles(cfg.CertFile, cfg.KeyFile, deps)
	if err != nil {
		return nil, err
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.get}
	if cfg.ClientCA == "" {
		return tc, nil
	}
	pem, err := os.ReadFile(cfg.ClientCA)
	if err != nil {
		return nil, fmt.Errorf("server.tls.client_ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("server.tls.client_ca: %s holds no PEM certificate", cfg.ClientCA)
	}
	tc.ClientCAs = pool
	tc.ClientAuth = tls.RequireAndVerifyClientCert
	if cfg.ClientAuth == "optional" {
		tc.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return tc, nil
}

// certFiles serves a certificate pair from disk, reloaded when either file's size or
// modification time changes.
type certFiles struct {
	certPath, keyPath string
	log               *slog.Logger
	now               func() time.Time

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   [2]fileStamp // of the files cert was read from
	checked time.Time
}

type fileStamp struct {
	size int64
	mod  time.Time
}

func newCertFiles(certPath, keyPath string, deps Deps) (*certFiles, error) {
	c := &certFiles{certPath: certPath, keyPath: keyPath, log: deps.Logger, now: deps.Now}
	if c.now == nil {
		c.now = time.Now
	}
	stamp, err := c.stamps()
	if err == nil {
		err = c.load(stamp)
	}
	if err != nil {
		return nil, fmt.Errorf("server.tls: %w", err)
	}
	c.checked = c.now()
	return c, nil
}

// get is tls.Config.GetCertificate: the cached pair, re-read first when the files changed.
func (c *certFiles) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if now.Sub(c.checked) < CheckInterval {
		return c.cert, nil
	}
	c.checked = now
	stamp, err := c.stamps()
	if err == nil && stamp != c.stamp {
		err = c.load(stamp)
		if err == nil {
			c.log.Info("TLS certificate reloaded", "cert_file", c.certPath)
		}
	}
	if err != nil {
		// A pair half written, or a file briefly missing during a rotation: keep serving the
		// last good certificate and look again at the next check.
		c.log.Warn("TLS certificate not reloaded; serving the previous one", "cert_file", c.certPath, "error", err)
	}
	return c.cert, nil
}

func (c *certFiles) stamps() ([2]fileStamp, error) {
	var out [2]fileStamp
	for i, p := range []string{c.certPath, c.keyPath} {
		fi, err := os.Stat(p)
		if err != nil {
			return out, err
		}
		out[i] = fileStamp{size: fi.Size(), mod: fi.ModTime()}
	}
	return out, nil
}

func (c *certFiles) load(stamp [2]fileStamp) error {
	pair, err := tls.LoadX509KeyPair(c.certPath, c.keyPath)
	if err != nil {
		return err
	}
	c.cert, c.stamp = &pair, stamp
	return nil
}

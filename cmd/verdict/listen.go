package main

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/httpapi"
	"github.com/verdict-pdp/verdict/pdp/servertls"
)

// listener is one HTTP server and the listener it serves.
type listener struct {
	name string
	srv  *http.Server
	ln   net.Listener
}

// serverTLS is the TLS configuration of server.tls, shared by the HTTP and gRPC listeners;
// nil when server.tls is not set.
func serverTLS(cfg config.Server, log *slog.Logger) (*tls.Config, error) {
	if cfg.TLS == nil {
		return nil, nil
	}
	return servertls.New(*cfg.TLS, servertls.Deps{Logger: log, Now: time.Now})
}

// openListeners opens the public listener at server.addr and, when server.admin_addr is set,
// the admin listener, both over TLS when tc is set (serverTLS). The admin listener asks for
// no client certificate: probes and metrics scrapers do not have one, and its endpoints are
// authenticated by admin API keys.
func openListeners(cfg config.Server, tc *tls.Config, api *httpapi.Server, log *slog.Logger) ([]listener, error) {
	public, err := listen(cfg.Addr, tc)
	if err != nil {
		return nil, err
	}
	out := []listener{{name: "public", srv: httpapi.NewHTTPServer(cfg, api, log), ln: public}}
	admin := api.AdminHandler()
	if admin == nil {
		return out, nil
	}
	if tc != nil {
		tc = tc.Clone()
		tc.ClientAuth, tc.ClientCAs = tls.NoClientCert, nil
	}
	ln, err := listen(cfg.AdminAddr, tc)
	if err != nil {
		_ = public.Close()
		return nil, fmt.Errorf("server.admin_addr: %w", err)
	}
	return append(out, listener{name: "admin", srv: httpapi.NewHTTPServer(cfg, admin, log), ln: ln}), nil
}

// listen listens on addr, over TLS when tc is set, with the framing check on the plaintext.
func listen(addr string, tc *tls.Config) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if tc != nil {
		ln = tls.NewListener(ln, tc)
	}
	return httpapi.NewListener(ln), nil
}

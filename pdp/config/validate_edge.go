package config

import (
	"fmt"
	"net"
	"net/url"
)

// validateEdge checks the keys of the network edge: TLS, the admin listener, CORS, rate
// limits and the PEP client-certificate mode that depends on them.
func (c *Config) validateEdge() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	s := c.Server
	if s.AdminAddr != "" {
		if _, _, err := net.SplitHostPort(s.AdminAddr); err != nil {
			add("server.admin_addr: %q is not host:port (write 127.0.0.1:8182 or :8182)", s.AdminAddr)
		} else if s.AdminAddr == s.Addr {
			add("server.admin_addr: must differ from server.addr")
		}
	}
	if t := s.TLS; t != nil {
		if t.CertFile == "" || t.KeyFile == "" {
			add("server.tls.cert_file and server.tls.key_file: both must be set")
		}
		if t.ClientCA == "" && t.ClientAuth != "" {
			add("server.tls.client_auth: needs server.tls.client_ca")
		}
		if t.ClientCA != "" {
			oneOf(add, "server.tls.client_auth", t.ClientAuth, "require", "optional")
		}
	}
	if cors := s.CORS; cors != nil {
		errs = append(errs, cors.validate()...)
	}
	if rl := s.RateLimit; rl != nil {
		oneOf(add, "server.rate_limit.key", rl.Key, "remote_addr", "client_id", "subject")
		if rl.Rate <= 0 || rl.Burst < 1 || rl.MaxKeys < 1 {
			add("server.rate_limit.rate, burst and max_keys: must be positive")
		}
	}
	if c.AuthZEN.PEPAuth == "mtls" {
		if s.TLS == nil || s.TLS.ClientCA == "" {
			add("authzen.pep_auth: mtls needs server.tls.client_ca, to verify the PEPs' certificates")
		}
		if len(c.AuthZEN.ClientCertNames) == 0 {
			add("authzen.client_cert_names: must list at least one name when pep_auth is mtls")
		}
	}
	return errs
}

func (cors *CORS) validate() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("server.cors."+format, args...)) }
	if len(cors.AllowedOrigins) == 0 {
		add("allowed_origins: must list at least one origin")
	}
	for i, o := range cors.AllowedOrigins {
		if o == "*" {
			if cors.AllowCredentials {
				// Browsers refuse "*" with credentials; echoing every origin instead would let any
				// site read answers with the user's cookies.
				add("allowed_origins[%d]: \"*\" cannot be combined with allow_credentials; list the origins", i)
			}
			continue
		}
		if u, err := url.Parse(o); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.Path != "" || u.RawQuery != "" || u.User != nil || u.Fragment != "" {
			add("allowed_origins[%d]: %q is not an origin (scheme://host[:port], no path)", i, o)
		}
	}
	if cors.MaxAge < 0 {
		add("max_age: must not be negative")
	}
	return errs
}

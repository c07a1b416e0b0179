package config

import (
	"strings"
	"testing"
)

func TestValidateEdge(t *testing.T) {
	const tlsCA = "server: {tls: {cert_file: c.pem, key_file: k.pem, client_ca: ca.pem}}\n"
	tests := []struct {
		name string
		yaml string
		want string // "" means valid
	}{
		{name: "tls", yaml: "server: {tls: {cert_file: c.pem, key_file: k.pem}}"},
		{name: "tls without a key", yaml: "server: {tls: {cert_file: c.pem}}", want: "server.tls.cert_file and server.tls.key_file"},
		{name: "client ca, optional", yaml: "server: {tls: {cert_file: c.pem, key_file: k.pem, client_ca: ca.pem, client_auth: optional}}"},
		{name: "client ca, unknown mode", yaml: "server: {tls: {cert_file: c.pem, key_file: k.pem, client_ca: ca.pem, client_auth: maybe}}", want: "server.tls.client_auth"},
		{name: "client_auth without a ca", yaml: "server: {tls: {cert_file: c.pem, key_file: k.pem, client_auth: require}}", want: "needs server.tls.client_ca"},
		{name: "admin addr", yaml: "server: {admin_addr: '127.0.0.1:8182'}"},
		{name: "admin addr not host:port", yaml: "server: {admin_addr: '8182'}", want: "server.admin_addr"},
		{name: "admin addr equals addr", yaml: "server: {addr: ':8181', admin_addr: ':8181'}", want: "must differ from server.addr"},
		{name: "cors", yaml: "server: {cors: {allowed_origins: ['https://app.example.com', 'http://localhost:3000'], allow_credentials: true}}"},
		{name: "cors wildcard", yaml: "server: {cors: {allowed_origins: ['*']}}"},
		{name: "cors wildcard with credentials", yaml: "server: {cors: {allowed_origins: ['*'], allow_credentials: true}}", want: "cannot be combined with allow_credentials"},
		{name: "cors origin with a path", yaml: "server: {cors: {allowed_origins: ['https://app.example.com/x']}}", want: "server.cors.allowed_origins[0]"},
		{name: "cors without origins", yaml: "server: {cors: {max_age: 1m}}", want: "server.cors.allowed_origins: must list"},
		{name: "cors negative max age", yaml: "server: {cors: {allowed_origins: ['*'], max_age: -1s}}", want: "server.cors.max_age"},
		{name: "rate limit", yaml: "server: {rate_limit: {key: client_id, rate: 10, burst: 20}}"},
		{name: "rate limit unknown key", yaml: "server: {rate_limit: {key: ip, rate: 10, burst: 20}}", want: "server.rate_limit.key"},
		{name: "rate limit without a rate", yaml: "server: {rate_limit: {key: subject, burst: 20}}", want: "server.rate_limit.rate, burst and max_keys"},
		{name: "pep mtls", yaml: tlsCA + "authzen: {pep_auth: mtls, client_cert_names: [pep.example.com]}"},
		{name: "pep mtls without a client ca", yaml: "authzen: {pep_auth: mtls, client_cert_names: [pep]}", want: "mtls needs server.tls.client_ca"},
		{name: "pep mtls without names", yaml: tlsCA + "authzen: {pep_auth: mtls}", want: "authzen.client_cert_names"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkValidate(t, tt.yaml, tt.want) })
	}
}

func TestEdgeDefaults(t *testing.T) {
	c, err := Load(strings.NewReader("server: {tls: {cert_file: c, key_file: k, client_ca: ca}, cors: {allowed_origins: ['*']}, rate_limit: {key: subject, rate: 1, burst: 1}}"), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Server
	if s.TLS.ClientAuth != "require" || s.CORS.MaxAge != DefaultCORSMaxAge || len(s.CORS.AllowedMethods) == 0 ||
		len(s.CORS.AllowedHeaders) == 0 || s.RateLimit.MaxKeys != DefaultRateLimitMaxKeys {
		t.Errorf("defaults not applied: tls %+v, cors %+v, rate_limit %+v", *s.TLS, *s.CORS, *s.RateLimit)
	}
	if d := Default(); d.Server.TLS != nil || d.Server.CORS != nil || d.Server.RateLimit != nil || d.Server.AdminAddr != "" {
		t.Errorf("TLS, CORS, rate limits and the admin listener must be off by default: %+v", d.Server)
	}
}

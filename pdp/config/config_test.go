package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

const validYAML = `
server:
  addr: 127.0.0.1:9000
policy:
  entrypoint: acme/authz/allow
tokens:
  issuers:
    - issuer: https://idp.example.com
      audiences: [verdict]
      jwks_file: ./jwks.json
      claims: {roles: realm_access.roles}
`

func TestLoadLayers(t *testing.T) {
	env, unknown := EnvOverrides([]string{"VERDICT_SERVER_ADDR=127.0.0.1:9100", "HOME=/root", "VERDICT_PORT=tcp://10.0.0.1:8181"})
	if len(unknown) != 1 || unknown[0] != "VERDICT_PORT" {
		t.Errorf("unknown = %v, want [VERDICT_PORT]", unknown)
	}
	flags := []Override{{Path: "policy.decision_timeout", Value: "750ms"}}
	c, err := Load(strings.NewReader(validYAML), append(env, flags...))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if c.Server.Addr != "127.0.0.1:9100" {
		t.Errorf("env did not override file: addr %q", c.Server.Addr)
	}
	if c.Policy.Entrypoint != "acme/authz/allow" || c.Policy.DecisionTimeout != 750*time.Millisecond {
		t.Errorf("policy = %+v", c.Policy)
	}
	is := c.Tokens.Issuers[0]
	if is.Claims["roles"] != "realm_access.roles" || is.Claims["tenant"] != "tenant" {
		t.Errorf("claims not merged with defaults: %v", is.Claims)
	}
	if *is.RequireTyp != "at+jwt" || *is.Leeway != DefaultLeeway {
		t.Errorf("issuer defaults not applied: %+v", is)
	}
	if c.Revocation.Path != "./data/revocations.db" {
		t.Errorf("revocation path %q", c.Revocation.Path)
	}
}

// TestEnvLists pins the ways a list of strings may be given in one variable: comma-separated,
// as a Kubernetes Secret holds it, or as YAML.
func TestEnvLists(t *testing.T) {
	const a, b = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"
	tests := []struct {
		name  string
		value string
		want  []string
		err   string
	}{
		{name: "comma-separated", value: a + "," + b, want: []string{a, b}},
		{name: "spaces around commas", value: " " + a + " , " + b + " ", want: []string{a, b}},
		{name: "one item", value: a, want: []string{a}},
		{name: "YAML flow list", value: "[" + a + ", " + b + "]", want: []string{a, b}},
		{name: "YAML block list", value: "- " + a + "\n- " + b + "\n", want: []string{a, b}},
		{name: "empty item", value: a + ",," + b, err: "item 2 of the comma-separated list is empty"},
		{name: "trailing comma", value: a + ",", err: "item 2 of the comma-separated list is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _ := EnvOverrides([]string{"VERDICT_ADMIN_API_KEYS_SHA256=" + tt.value})
			c, err := Load(nil, env)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "admin.api_keys_sha256") {
					t.Fatalf("err = %v, want it to name admin.api_keys_sha256 and say %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.Admin.APIKeysSHA256, tt.want) {
				t.Errorf("admin.api_keys_sha256 = %q, want %q", c.Admin.APIKeysSHA256, tt.want)
			}
		})
	}
}

// TestLoadReportsEveryProblem: a type error does not hide an unknown key elsewhere, and the
// configuration comes back decoded as far as possible so that Validate can judge the rest.
func TestLoadReportsEveryProblem(t *testing.T) {
	c, err := Load(strings.NewReader("server: {read_timeout: 10, adr: x, max_batch: 7}\nrevocation: {stor: redis}\n"), nil)
	var decodeErr *DecodeError
	if !errors.As(err, &decodeErr) {
		t.Fatalf("err = %v, want a *DecodeError", err)
	}
	for _, want := range []string{"`server.read_timeout` (line 1): `10` is not a duration", "did you mean `addr`?", "`revocation.stor`: no such configuration key; did you mean `store`?"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to mention %q", err, want)
		}
	}
	if len(decodeErr.Errs) != 3 {
		t.Errorf("%d problems, want 3: %v", len(decodeErr.Errs), decodeErr.Errs)
	}
	if c.Server.MaxBatch != 7 || c.Server.ReadTimeout == 0 {
		t.Errorf("max_batch = %d, read_timeout = %s: want the valid key decoded and the refused one defaulted", c.Server.MaxBatch, c.Server.ReadTimeout)
	}
}

func TestLoadRejects(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  []string
		want string
	}{
		{name: "unknown key", yaml: "server:\n  adr: x\n", want: "`server.adr`: no such configuration key; did you mean `addr`?"},
		{name: "unknown key in a list item", yaml: "tokens: {issuers: [{issuer: https://a, jwks_fil: a.json}]}", want: "`tokens.issuers[0].jwks_fil`: no such configuration key; did you mean `jwks_file`?"},
		{name: "unknown key far from any", yaml: "zzzzzzzz: 1", want: "`zzzzzzzz`: no such configuration key"},
		{name: "number for a duration", yaml: "server: {read_timeout: 10}", want: "`server.read_timeout` (line 1): `10` is not a duration; write `10s`"},
		{name: "word for a duration", yaml: "policy:\n  poll_interval: soon\n", want: "`policy.poll_interval` (line 2): `soon` is not a duration"},
		{name: "word for a number", yaml: "server: {max_batch: many}", want: "`server.max_batch` (line 1): `many` is not a whole number"},
		{name: "scalar for a list", yaml: "tokens: {issuers: [{audiences: {a: b}}]}", want: "`tokens.issuers[0].audiences` (line 1): a map is not a list"},
		{name: "scalar for a section", yaml: "server: 8181", want: "`server`: expected a map of keys (key: value), found `8181`"},
		{name: "bad duration", env: []string{"VERDICT_POLICY_POLL_INTERVAL=soon"}, want: "policy.poll_interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _ := EnvOverrides(tt.env)
			_, err := Load(strings.NewReader(tt.yaml), env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c, err := Load(strings.NewReader(`
tokens:
  issuers:
    - issuer: https://a
      jwks_file: a.json
      algorithms: [HS256, none]
revocation: {store: memcache}
authzen: {pep_auth: api_key}
decision_log: {sink: file}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	if err == nil {
		t.Fatal("Validate accepted an invalid configuration")
	}
	for _, want := range []string{
		"audiences: at least one audience is required",
		`"HS256" is not allowed`,
		`"none" is not allowed`,
		`revocation.store: "memcache"`,
		"authzen.api_keys_sha256",
		"decision_log.path",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error lacks %q:\n%v", want, err)
		}
	}
}

// TestWarnsIssuerNotURL: an issuer that is not a URL is allowed (iss is compared as a string)
// but almost always a mistake, so it is named with its key path.
func TestWarnsIssuerNotURL(t *testing.T) {
	tests := []struct {
		name   string
		issuer string
		warned bool
	}{
		{name: "bare host", issuer: "idp.example.com", warned: true},
		{name: "https URL", issuer: "https://idp.example.com/realms/acme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.Tokens.Issuers = []Issuer{{Issuer: tt.issuer}}
			warned := strings.Contains(strings.Join(c.Warnings(), "\n"), "tokens.issuers[0].issuer: \""+tt.issuer+"\" is not an http(s) URL")
			if warned != tt.warned {
				t.Errorf("warnings %q: warned = %v, want %v", c.Warnings(), warned, tt.warned)
			}
		})
	}
}

func TestDefaultIsValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestValidateTokenKeys checks the remote key source and introspection settings, one row per
// problem; the first rows are valid configurations.
func TestValidateTokenKeys(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string // empty: valid
	}{
		{name: "jwks_url with defaults", yaml: `
tokens:
  issuers: [{issuer: https://idp.example.com, audiences: [verdict], jwks_url: https://idp.example.com/jwks}]`},
		{name: "discovery with defaults", yaml: `
tokens:
  issuers: [{issuer: https://idp.example.com/realms/acme, audiences: [verdict], discovery: true}]`},
		{name: "introspection with defaults", yaml: `
tokens:
  introspection: {url: https://as.example.com/introspect, client_id: verdict, client_secret: s}`},
		{name: "discovery for an issuer that is not a URL", yaml: `
tokens:
  issuers: [{issuer: idp, audiences: [verdict], discovery: true}]`, want: "discovery: the issuer must be an http(s) URL"},
		{name: "jwks_url and discovery", yaml: `
tokens:
  issuers: [{issuer: https://idp.example.com, audiences: [verdict], discovery: true, jwks_url: https://idp.example.com/jwks}]`,
			want: "exactly one of"},
		{name: "jwks_url not http", yaml: `
tokens:
  issuers: [{issuer: https://idp.example.com, audiences: [verdict], jwks_url: file:///etc/jwks.json}]`, want: "jwks_url"},
		{name: "negative refresh_rate_limit", yaml: `
tokens:
  issuers: [{issuer: https://idp.example.com, audiences: [verdict], jwks_url: https://idp.example.com/jwks, refresh_rate_limit: -1s}]`,
			want: "refresh_rate_limit"},
		{name: "negative max_jwks_bytes", yaml: `
tokens:
  issuers: [{issuer: https://idp.example.com, audiences: [verdict], jwks_url: https://idp.example.com/jwks, max_jwks_bytes: -1}]`,
			want: "max_jwks_bytes"},
		{name: "negative cache_max_bytes", yaml: `
tokens: {cache_max_bytes: -1}`, want: "tokens.cache_max_bytes"},
		{name: "introspection without client_id", yaml: `
tokens:
  introspection: {url: https://as.example.com/introspect}`, want: "tokens.introspection.client_id"},
		{name: "introspection url not http", yaml: `
tokens:
  introspection: {url: as.example.com, client_id: verdict}`, want: "tokens.introspection.url"},
		{name: "introspection inactive cache too long", yaml: `
tokens:
  introspection: {url: https://as.example.com/introspect, client_id: verdict, inactive_cache_ttl: 1h}`,
			want: "inactive_cache_ttl"},
		{name: "introspection negative cache_ttl", yaml: `
tokens:
  introspection: {url: https://as.example.com/introspect, client_id: verdict, cache_ttl: -1s}`, want: "cache_ttl"},
		{name: "introspection empty audience", yaml: `
tokens:
  introspection: {url: https://as.example.com/introspect, client_id: verdict, audiences: [""]}`, want: "audiences[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkValidate(t, tt.yaml, tt.want) })
	}
	c, err := Load(strings.NewReader(tests[0].yaml+"\n  introspection: {url: https://as.example.com/i, client_id: v}"), nil)
	if err != nil {
		t.Fatal(err)
	}
	is, in := c.Tokens.Issuers[0], c.Tokens.Introspection
	if is.FetchTimeout != DefaultFetchTimeout || is.MaxJWKSBytes != DefaultMaxJWKSBytes || is.RefreshRateLimit != DefaultRefreshRateLimit {
		t.Errorf("issuer defaults: %+v", is)
	}
	if *in.InactiveCacheTTL != DefaultInactiveCacheTTL || in.MaxResponseBytes != DefaultMaxIntrospectionRsp || *in.Leeway != DefaultLeeway {
		t.Errorf("introspection defaults: %+v", in)
	}
}

// pepIssuer configures the issuer PEP tokens come from, for the authzen rows of TestValidatePolicy.
const pepIssuer = "tokens: {issuers: [{issuer: https://idp, audiences: [v], jwks_file: a.json}]}\n"

func TestValidatePolicy(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string // "" means valid
	}{
		{name: "https bundle with long polling", yaml: "policy: {bundle: https://bundles.example/v.tar.gz, long_poll_timeout: 30s, download_timeout: 10s}"},
		{name: "file bundle", yaml: "policy: {bundle: ./bundles/verdict.tar.gz, poll_interval: 5s}"},
		{name: "verification with keys by id", yaml: "policy: {verification: {keys: {ci: ./ci.pem}, scope: prod}}"},
		{name: "unsupported scheme", yaml: "policy: {bundle: 's3://bucket/b.tar.gz'}", want: "policy.bundle"},
		{name: "negative poll interval", yaml: "policy: {poll_interval: -1s}", want: "policy.poll_interval"},
		{name: "sub-second long poll", yaml: "policy: {long_poll_timeout: 500ms}", want: "policy.long_poll_timeout"},
		{name: "negative size limit", yaml: "policy: {max_bundle_bytes: -1}", want: "policy.max_bundle_bytes"},
		{name: "negative data response limit", yaml: "server: {max_data_response_bytes: -1}", want: "server.max_data_response_bytes"},
		{name: "verification without keys", yaml: "policy: {verification: {scope: prod}}", want: "needs public_key or keys"},
		{name: "key id without public key", yaml: "policy: {verification: {key_id: k, keys: {a: a.pem}}}", want: "policy.verification.key_id"},
		{name: "empty key file", yaml: "policy: {verification: {keys: {a: ''}}}", want: "policy.verification.keys"},
		{name: "pep jwt without a scope", yaml: pepIssuer + "authzen: {pep_auth: jwt, issuer: https://idp}", want: "authzen.scope: must be set when pep_auth is jwt"},
		{name: "pep jwt with a scope", yaml: pepIssuer + "authzen: {pep_auth: jwt, issuer: https://idp, scope: authzen:evaluate}"},
		{name: "addr without a host part", yaml: "server: {addr: '19013'}", want: `server.addr: "19013" is not host:port`},
		{name: "addr with only a port", yaml: "server: {addr: ':19013'}"},
		{name: "redis_url without a scheme", yaml: "revocation: {store: redis, redis_url: 'localhost:6379'}", want: `revocation.redis_url: "localhost:6379" is not a redis://`},
		{name: "watched directory", yaml: "policy: {bundle: ./policies, watch: true}"},
		{name: "watched archive", yaml: "policy: {bundle: ./bundles/verdict.tar.gz, watch: true}"},
		{name: "watch with the built-in bundle", yaml: "policy: {watch: true}", want: "policy.watch: needs policy.bundle to be a directory or a .tar.gz file"},
		{name: "watch with a url", yaml: "policy: {bundle: https://bundles.example/v.tar.gz, watch: true}", want: "policy.watch: needs policy.bundle"},
		{name: "redis_url with a scheme", yaml: "revocation: {store: redis, redis_url: 'rediss://cache:6380/1'}"},
		{name: "grpc on", yaml: "server: {grpc_addr: ':9191', grpc_dry_run: true, grpc_headers_to_remove: [Authorization]}"},
		{name: "grpc_addr not host:port", yaml: "server: {grpc_addr: '9191'}", want: `server.grpc_addr: "9191" is not host:port`},
		{name: "grpc_addr is addr", yaml: "server: {addr: ':9191', grpc_addr: ':9191'}", want: "server.grpc_addr: \":9191\" is server.addr too"},
		{name: "pseudo-header to remove", yaml: "server: {grpc_headers_to_remove: [':path']}", want: "server.grpc_headers_to_remove[0]"},
		{name: "host to remove", yaml: "server: {grpc_headers_to_remove: [authorization, Host]}", want: "server.grpc_headers_to_remove[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(strings.NewReader(tt.yaml), nil)
			if err != nil {
				t.Fatal(err)
			}
			err = c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if c.Policy.DownloadTimeout <= 0 {
					t.Errorf("download_timeout default not applied: %v", c.Policy.DownloadTimeout)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate error = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	c, err := Load(strings.NewReader(`
tokens:
  issuers:
    - {issuer: https://a, audiences: [v], jwks_file: a.json, require_typ: ""}
revocation: {on_store_error: allow}
authzen: {pep_auth: api_key, api_keys_sha256: [`+strings.Repeat("a", 64)+`]}
decision_log: {sink: http, http: {url: http://logs.internal}}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(c.Warnings(), "\n")
	for _, want := range []string{"on_store_error is allow", "https://a: require_typ is empty", "decision_log.http.url is plain http"} {
		if !strings.Contains(got, want) {
			t.Errorf("warnings lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "pep_auth") {
		t.Errorf("pep_auth api_key warned about:\n%s", got)
	}
	if d := Default(); len(d.Warnings()) != 2 {
		t.Errorf("defaults warn %d times, want 2 (pep_auth none, no issuer): %v", len(d.Warnings()), d.Warnings())
	}
}

// TestExplicitZeroKept: the keys whose zero means something (no leeway, no introspection
// cache) keep an explicit 0 from the file or the environment; left out, they get the default.
func TestExplicitZeroKept(t *testing.T) {
	const file = `
tokens:
  issuers: [{issuer: https://idp.example.com, audiences: [verdict], jwks_url: https://idp.example.com/jwks, leeway: 0s}]
  introspection: {url: https://as.example.com/introspect, client_id: verdict, cache_ttl: 0s}`
	env := []Override{{Path: "tokens.introspection.inactive_cache_ttl", Value: "0s"}}
	c, err := Load(strings.NewReader(file), env)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	is, in := c.Tokens.Issuers[0], c.Tokens.Introspection
	if *is.Leeway != 0 || *in.CacheTTL != 0 || *in.InactiveCacheTTL != 0 {
		t.Errorf("explicit zeros replaced: leeway %v, cache_ttl %v, inactive_cache_ttl %v", *is.Leeway, *in.CacheTTL, *in.InactiveCacheTTL)
	}
	if *in.Leeway != DefaultLeeway {
		t.Errorf("introspection leeway %v, want the default %v", *in.Leeway, DefaultLeeway)
	}
}

func TestValidateDecisionLog(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string // empty: valid
	}{
		{name: "old keys", yaml: "decision_log: {sink: file, path: d.log, buffer: 10}"},
		{name: "http with defaults", yaml: "decision_log: {sink: http, http: {url: https://logs.example.com, spill_bytes: 1000000}}"},
		{name: "http without url", yaml: "decision_log: {sink: http}", want: "decision_log.http.url: must be set"},
		{name: "http url not http", yaml: "decision_log: {sink: http, http: {url: ftp://x}}", want: "decision_log.http.url"},
		{name: "cert without key", yaml: "decision_log: {sink: http, http: {url: https://x, cert_file: c.pem}}", want: "cert_file and http.key_file"},
		{name: "buffer below batch", yaml: "decision_log: {sink: http, http: {url: https://x, batch_bytes: 1000, buffer_bytes: 10}}", want: "buffer_bytes at least batch_bytes"},
		{name: "sample above 1", yaml: "decision_log: {sample_allowed: 1.5}", want: "decision_log.sample_allowed"},
		{name: "sample 0", yaml: "decision_log: {sample_allowed: 0}"},
		{name: "mask outside input and result", yaml: "decision_log: {mask: [/labels/id]}", want: `decision_log.mask: "/labels/id"`},
		{name: "mask", yaml: "decision_log: {mask: [/input/token, /result/risk, /input]}"},
		{name: "mask under a look-alike root", yaml: "decision_log: {mask: [/inputs/token]}", want: `decision_log.mask: "/inputs/token"`},
		{name: "mask without a slash", yaml: "decision_log: {mask: [input/token]}", want: `decision_log.mask: "input/token"`},
		{name: "negative rotation", yaml: "decision_log: {max_backups: -1}", want: "max_backups"},
		{name: "unknown sink", yaml: "decision_log: {sink: kafka}", want: `decision_log.sink: "kafka"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkValidate(t, tt.yaml, tt.want) })
	}
}

// checkValidate loads yaml and checks that Validate accepts it (want empty) or names want.
func checkValidate(t *testing.T, yaml, want string) {
	t.Helper()
	c, err := Load(strings.NewReader(yaml), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	if want == "" {
		if err != nil {
			t.Fatalf("Validate: %v", err)
		}
		return
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want it to mention %q", err, want)
	}
}

// TestValidateRedactsURLs: a refused redis or receiver URL is named without its credentials.
func TestValidateRedactsURLs(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{name: "redis_url", yaml: "revocation: {store: redis, redis_url: 'http://:s3cret@redis:6379/0'}", want: `"http://redis:6379/0" is not a redis://`},
		{name: "decision log receiver", yaml: "decision_log: {sink: http, http: {url: 'ftp://u:s3cret@logs.example/v1?key=s3cret'}}",
			want: `"ftp://logs.example/v1" is not an http(s) URL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(strings.NewReader(tt.yaml), nil)
			if err != nil {
				t.Fatal(err)
			}
			err = c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "s3cret") {
				t.Errorf("Validate = %v; want %q and no credentials", err, tt.want)
			}
		})
	}
}

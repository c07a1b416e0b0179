// Package config holds Verdict's configuration: the types that mirror the YAML file, their
// defaults, validation that reports every problem at once, and loading from a file, VERDICT_*
// environment variables and flags. Components take the section they own; nothing here reads
// files or the environment except Load.
package config

import "time"

// Config is the whole of Verdict's configuration. Its YAML keys are part of the public contract.
type Config struct {
	Server      Server      `yaml:"server"`
	Policy      Policy      `yaml:"policy"`
	Tokens      Tokens      `yaml:"tokens"`
	Revocation  Revocation  `yaml:"revocation"`
	AuthZEN     AuthZEN     `yaml:"authzen"`
	Admin       Admin       `yaml:"admin"`
	DecisionLog DecisionLog `yaml:"decision_log"`
	Tracing     Tracing     `yaml:"tracing"`
	// DataDir is where Verdict keeps state that must survive a restart (the dev issuer key,
	// the last activated bundle, the file revocation store).
	DataDir string `yaml:"data_dir"`
}

// Server configures the HTTP listener and its defensive limits.
type Server struct {
	Addr         string `yaml:"addr"`
	MaxBodyBytes int64  `yaml:"max_body_bytes"`
	// MaxDataResponseBytes caps the JSON encoding of one Data API result; a larger document
	// is refused with 413 rather than built and sent.
	MaxDataResponseBytes int64         `yaml:"max_data_response_bytes"`
	MaxHeaderBytes       int           `yaml:"max_header_bytes"`
	ReadHeaderTimeout    time.Duration `yaml:"read_header_timeout"`
	ReadTimeout          time.Duration `yaml:"read_timeout"`
	WriteTimeout         time.Duration `yaml:"write_timeout"`
	IdleTimeout          time.Duration `yaml:"idle_timeout"`
	ShutdownTimeout      time.Duration `yaml:"shutdown_timeout"`
	// PprofAddr, when set, serves Go's /debug/pprof profiles on a listener of its own at this
	// address (keep it on loopback); empty is off.
	PprofAddr string `yaml:"pprof_addr"`
	// ShutdownDelay is how long, on SIGTERM, the server keeps serving with /ready answering 503
	// and keep-alives off before it stops accepting connections: the time a load balancer needs
	// to see the 503 and stop sending. Zero means none; nil means DefaultShutdownDelay.
	ShutdownDelay *time.Duration `yaml:"shutdown_delay"`
	// MaxBatch caps the number of evaluations in one batch request.
	MaxBatch int `yaml:"max_batch"`
	// BatchConcurrency bounds how many items of one batch are evaluated at once.
	BatchConcurrency int `yaml:"batch_concurrency"`

	// AdminAddr, when set, serves /metrics, /v1/status and /v1/admin/* on a listener of their
	// own at this address, and the public listener no longer serves them.
	AdminAddr string `yaml:"admin_addr"`
	// TLS, when set, serves the listeners over TLS.
	TLS *TLS `yaml:"tls"`
	// CORS, when set, answers browsers' cross-origin requests to the native and AuthZEN APIs.
	CORS *CORS `yaml:"cors"`
	// RateLimit, when set, bounds the requests of each client.
	RateLimit *RateLimit `yaml:"rate_limit"`
	// GRPCAddr, when set, serves Envoy's gRPC ext_authz API (envoy.service.auth.v3.Authorization)
	// and the gRPC health service on a listener of its own at this address; empty is off.
	GRPCAddr string `yaml:"grpc_addr"`
	// GRPCDryRun makes the gRPC ext_authz API allow every request it would refuse (401, 403),
	// logging the real answer; an error is still an error status. For trying a policy out.
	GRPCDryRun bool `yaml:"grpc_dry_run"`
	// GRPCHeadersToRemove names request headers Envoy removes before an allowed request goes
	// upstream (authorization, say, so the upstream never sees the token).
	GRPCHeadersToRemove []string `yaml:"grpc_headers_to_remove"`
}

// TLS configures the listeners' certificate and, optionally, client certificates.
type TLS struct {
	// CertFile and KeyFile are PEM files, re-read when either changes on disk.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ClientCA is a PEM file of the CAs client certificates are verified against; empty asks
	// for no client certificate.
	ClientCA string `yaml:"client_ca"`
	// ClientAuth is require (default: a client without a valid certificate cannot connect) or
	// optional (a certificate, when sent, must be valid).
	ClientAuth string `yaml:"client_auth"`
}

// CORS configures cross-origin resource sharing for the native and AuthZEN APIs.
type CORS struct {
	// AllowedOrigins are exact origins (https://app.example.com), or "*" for any.
	AllowedOrigins   []string      `yaml:"allowed_origins"`
	AllowedMethods   []string      `yaml:"allowed_methods"`
	AllowedHeaders   []string      `yaml:"allowed_headers"`
	MaxAge           time.Duration `yaml:"max_age"`
	AllowCredentials bool          `yaml:"allow_credentials"`
}

// RateLimit configures a token bucket per client.
type RateLimit struct {
	// Key is what identifies a client: remote_addr, client_id or subject.
	Key string `yaml:"key"`
	// Rate is the sustained requests per second of one client; Burst what it may send at once.
	Rate  float64 `yaml:"rate"`
	Burst int     `yaml:"burst"`
	// MaxKeys bounds the buckets kept; the least recently used are forgotten beyond it.
	MaxKeys int `yaml:"max_keys"`
}

// Policy configures where policy comes from and how it is evaluated.
type Policy struct {
	// Bundle is a directory, a .tar.gz file or an http(s) URL; empty means the built-in bundle.
	Bundle string `yaml:"bundle"`
	// PollInterval is how often the bundle source is checked: a URL with If-None-Match, a file
	// or directory by size and modification time. Polls are jittered by up to 20% earlier.
	PollInterval time.Duration `yaml:"poll_interval"`
	// Watch reads a directory or file bundle after each change file notifications report,
	// instead of polling it; for development (serve --dev --watch).
	Watch bool `yaml:"watch"`
	// LongPollTimeout, when positive, asks an http(s) bundle server that supports it to hold
	// each request up to this long until a new revision exists (Prefer: wait=N, as OPA does).
	LongPollTimeout time.Duration `yaml:"long_poll_timeout"`
	// DownloadTimeout bounds one bundle request (on top of LongPollTimeout when long polling).
	DownloadTimeout time.Duration `yaml:"download_timeout"`
	// Entrypoint is the rule path of the decision, slash separated (verdict/authz/decision).
	Entrypoint string `yaml:"entrypoint"`
	// DecisionTimeout bounds one evaluation; a timeout is a deny.
	DecisionTimeout time.Duration `yaml:"decision_timeout"`
	// AllowBuiltins names builtins that reach outside Verdict (http.send, net.lookup_ip_addr,
	// opa.runtime, json.verify_schema, json.match_schema) that a bundle may call anyway; a
	// bundle that calls any other of them is refused.
	AllowBuiltins []string `yaml:"allow_builtins"`
	// RequireTests refuses to activate a bundle whose own Rego tests fail.
	RequireTests bool              `yaml:"require_tests"`
	Verification *Verification     `yaml:"verification"`
	Credentials  BundleCredentials `yaml:"credentials"`
	// MaxBundleBytes caps a bundle download or archive.
	MaxBundleBytes int64 `yaml:"max_bundle_bytes"`
	// InterQueryCacheBytes bounds OPA's inter-query builtin cache.
	InterQueryCacheBytes int64 `yaml:"inter_query_cache_bytes"`
	// ValueCacheEntries bounds OPA's inter-query value cache.
	ValueCacheEntries int `yaml:"value_cache_entries"`
	// DecisionCacheBytes bounds the cache of decisions reused for requests equal in every part
	// that reaches the policy (principal, request body, second, revision); 0 turns it off. It
	// is used only for policies that call no non-deterministic builtin but time.now_ns.
	DecisionCacheBytes *int64 `yaml:"decision_cache_bytes"`
}

// Verification configures bundle signature verification. When set, unsigned bundles are refused.
type Verification struct {
	// PublicKey is a PEM file with the verification key used when a signature names no key id
	// or names KeyID.
	PublicKey string `yaml:"public_key"`
	KeyID     string `yaml:"key_id"`
	// Keys maps further key ids to PEM files.
	Keys  map[string]string `yaml:"keys"`
	Scope string            `yaml:"scope"`
}

// BundleCredentials authenticates Verdict to a bundle server.
type BundleCredentials struct {
	// BearerToken is sent as "Authorization: Bearer" to the bundle server.
	BearerToken string `yaml:"bearer_token"`
}

// Tokens configures access-token verification.
type Tokens struct {
	Issuers       []Issuer       `yaml:"issuers"`
	Introspection *Introspection `yaml:"introspection"`
	// CacheSize bounds the verified-token cache (entries).
	CacheSize int `yaml:"cache_size"`
	// CacheMaxBytes bounds the memory of the verified-token cache: each entry is charged an
	// estimate of what its principal and the policy values built from it hold.
	CacheMaxBytes int64 `yaml:"cache_max_bytes"`
	// MaxTokenBytes refuses longer tokens before any parsing.
	MaxTokenBytes int `yaml:"max_token_bytes"`
}

// Issuer configures one trusted token issuer.
type Issuer struct {
	Issuer     string   `yaml:"issuer"`
	Audiences  []string `yaml:"audiences"`
	JWKSURL    string   `yaml:"jwks_url"`
	Discovery  bool     `yaml:"discovery"`
	JWKSFile   string   `yaml:"jwks_file"`
	PublicKeys []string `yaml:"public_keys"`
	Algorithms []string `yaml:"algorithms"`
	// RequireTyp is the required JOSE typ header; nil means at+jwt and "" accepts any.
	RequireTyp *string `yaml:"require_typ"`
	// Leeway is the clock skew allowed for exp, nbf and iat; nil means DefaultLeeway and 0 none.
	Leeway *time.Duration `yaml:"leeway"`
	// MaxLifetime caps exp - iat; zero means no cap.
	MaxLifetime time.Duration `yaml:"max_lifetime"`
	// RequiredClaims must be present in every token (RFC 9068: sub, client_id, iat, jti).
	RequiredClaims []string `yaml:"required_claims"`
	// Claims maps subject property names to dotted claim paths (roles: realm_access.roles).
	Claims map[string]string `yaml:"claims"`
	// SubjectClaim names the top-level string claim that is the subject id; empty means
	// DefaultSubjectClaim (sub). Entra ID's stable user id is oid.
	SubjectClaim string `yaml:"subject_claim"`
	// RefreshInterval is how often a remote key set is refetched.
	RefreshInterval time.Duration `yaml:"refresh_interval"`
	// RefreshRateLimit is the least time between two refreshes caused by unknown key ids (or by
	// requests that find no key set yet); concurrent misses share one fetch.
	RefreshRateLimit time.Duration `yaml:"refresh_rate_limit"`
	// FetchTimeout bounds one fetch of the discovery document or the JWK Set.
	FetchTimeout time.Duration `yaml:"fetch_timeout"`
	// MaxJWKSBytes caps the JWK Set and discovery document responses.
	MaxJWKSBytes int64 `yaml:"max_jwks_bytes"`
}

// Introspection configures RFC 7662 token introspection for opaque tokens (tokens that are not
// a JWS compact serialization).
type Introspection struct {
	// URL is the authorization server's introspection endpoint.
	URL string `yaml:"url"`
	// ClientID and ClientSecret authenticate Verdict with client_secret_basic.
	ClientID     string `yaml:"client_id"`
	ClientSecret string `yaml:"client_secret"`
	// CacheTTL bounds how long an active answer is reused (never past the token's exp); nil
	// means DefaultIntrospectionTTL and zero disables the cache.
	CacheTTL *time.Duration `yaml:"cache_ttl"`
	// InactiveCacheTTL is how long an inactive or refused answer is remembered, in a small cache
	// of its own; nil means DefaultInactiveCacheTTL and zero disables it.
	InactiveCacheTTL *time.Duration `yaml:"inactive_cache_ttl"`
	// Timeout bounds one introspection call.
	Timeout time.Duration `yaml:"timeout"`
	// MaxResponseBytes caps the introspection response.
	MaxResponseBytes int64 `yaml:"max_response_bytes"`
	// MaxConcurrent bounds the introspection calls in flight: each distinct opaque token costs
	// a call, so a flood of made-up tokens must not become a flood at the authorization server.
	MaxConcurrent int `yaml:"max_concurrent"`
	// Leeway is the clock skew allowed when exp, nbf and iat are checked locally; nil means
	// DefaultLeeway and 0 none.
	Leeway *time.Duration `yaml:"leeway"`
	// Issuer and Audiences, when set, are checked against the introspection response.
	Issuer    string   `yaml:"issuer"`
	Audiences []string `yaml:"audiences"`
	// Claims maps subject property names to dotted member paths of the response.
	Claims map[string]string `yaml:"claims"`
}

// Revocation configures where revocations are stored.
type Revocation struct {
	// Store is "file" (default) or "redis".
	Store    string `yaml:"store"`
	Path     string `yaml:"path"`
	RedisURL string `yaml:"redis_url"`
	// OnStoreError is "deny" (default) or "allow": what to do when the store is unreachable.
	OnStoreError string `yaml:"on_store_error"`
}

// AuthZEN configures the OpenID AuthZEN API.
type AuthZEN struct {
	// PEPAuth is none, api_key, jwt or mtls.
	PEPAuth string `yaml:"pep_auth"`
	// ClientCertNames are the names a PEP's client certificate may carry (subject common name
	// or a DNS or URI subject alternative name) with pep_auth mtls.
	ClientCertNames []string `yaml:"client_cert_names"`
	// APIKeysSHA256 are hex SHA-256 digests of accepted PEP API keys.
	APIKeysSHA256 []string `yaml:"api_keys_sha256"`
	// Issuer and Scope select the configured issuer and the scope a PEP JWT must carry; with
	// pep_auth jwt both are required, since the issuer's end users have tokens too.
	Issuer string `yaml:"issuer"`
	Scope  string `yaml:"scope"`
	// BaseURL is advertised as policy_decision_point in the metadata.
	BaseURL string `yaml:"base_url"`
	// ResponseContext is "minimal" (default) or "full".
	ResponseContext string `yaml:"response_context"`
}

// Admin configures access to the administrative endpoints.
type Admin struct {
	// APIKeysSHA256 are hex SHA-256 digests of accepted admin API keys.
	APIKeysSHA256 []string `yaml:"api_keys_sha256"`
}

// Tracing configures OpenTelemetry tracing. Where spans go, and which are kept, is set by the
// standard OTEL_* variables (docs/operations.md, "Tracing").
type Tracing struct {
	// Enabled turns tracing on; off, spans cost nothing.
	Enabled bool `yaml:"enabled"`
}

// DecisionLog configures the decision log.
type DecisionLog struct {
	// Sink is stdout, file or none.
	Sink string `yaml:"sink"`
	Path string `yaml:"path"`
	// Buffer bounds the number of decisions waiting to be written; beyond it they are dropped
	// and counted.
	Buffer int `yaml:"buffer"`
	// Mask lists JSON pointers (/input/..., /result/...) erased from every record.
	Mask []string `yaml:"mask"`
	// SampleAllowed is the share (0..1) of allowed decisions logged; denies and errors are
	// always logged. Nil means 1.
	SampleAllowed *float64 `yaml:"sample_allowed"`
	// MaxSizeMB, MaxBackups and MaxAgeDays rotate the file sink: a file is rotated at
	// MaxSizeMB, and rotated files beyond MaxBackups or older than MaxAgeDays are removed
	// (0: keep all).
	MaxSizeMB  int              `yaml:"max_size_mb"`
	MaxBackups int              `yaml:"max_backups"`
	MaxAgeDays int              `yaml:"max_age_days"`
	HTTP       *DecisionLogHTTP `yaml:"http"`
}

// DecisionLogHTTP configures the http sink: OPA's decision-log service protocol, a POST of a
// gzipped JSON array of events to <url>/logs.
type DecisionLogHTTP struct {
	URL string `yaml:"url"`
	// BearerToken, when set, is sent as Authorization: Bearer.
	BearerToken string `yaml:"bearer_token"`
	// CAFile, CertFile and KeyFile set the receiver's CA and the client certificate (mTLS).
	CAFile   string `yaml:"ca_file"`
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// BatchBytes bounds one upload, before compression.
	BatchBytes int `yaml:"batch_bytes"`
	// FlushInterval is the longest a record waits before its batch is sent.
	FlushInterval time.Duration `yaml:"flush_interval"`
	// BufferBytes bounds the records held in memory waiting to be sent; beyond it they are
	// dropped (or spilled) and counted.
	BufferBytes int `yaml:"buffer_bytes"`
	// Timeout bounds one upload.
	Timeout time.Duration `yaml:"timeout"`
	// MinRetryDelay and MaxRetryDelay bound the exponential backoff (with jitter) after a
	// failed upload.
	MinRetryDelay time.Duration `yaml:"min_retry_delay"`
	MaxRetryDelay time.Duration `yaml:"max_retry_delay"`
	// SpillBytes, when positive, keeps batches the receiver did not take on disk under
	// <data_dir>/decision-log-spill, up to this many bytes, and sends them when it is back.
	SpillBytes int64 `yaml:"spill_bytes"`
}

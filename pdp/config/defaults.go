package config

import "time"

// Defaults. Each is the value a key takes when the file, the environment and the flags are
// silent about it.
const (
	DefaultAddr              = "127.0.0.1:8181"
	DefaultMaxBodyBytes      = 64 << 10
	DefaultMaxDataResponse   = 1 << 20
	DefaultMaxHeaderBytes    = 16 << 10
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 10 * time.Second
	DefaultWriteTimeout      = 15 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultShutdownTimeout   = 10 * time.Second
	DefaultShutdownDelay     = 5 * time.Second
	DefaultMaxBatch          = 100
	DefaultBatchConcurrency  = 8
	DefaultClientAuth        = "require"
	DefaultCORSMaxAge        = 10 * time.Minute
	DefaultRateLimitMaxKeys  = 10000

	DefaultPollInterval         = 30 * time.Second
	DefaultDownloadTimeout      = 30 * time.Second
	DefaultEntrypoint           = "verdict/authz/decision"
	DefaultDecisionTimeout      = 2 * time.Second
	DefaultMaxBundleBytes       = 32 << 20
	DefaultInterQueryCacheBytes = 16 << 20
	DefaultValueCacheEntries    = 10000
	DefaultDecisionCacheBytes   = 8 << 20

	DefaultCacheSize        = 100000
	DefaultCacheMaxBytes    = 16 << 20
	DefaultMaxTokenBytes    = 8 << 10
	DefaultLeeway           = 30 * time.Second
	MaxLeeway               = 5 * time.Minute
	DefaultTyp              = "at+jwt"
	DefaultSubjectClaim     = "sub"
	DefaultRefreshInterval  = 15 * time.Minute
	DefaultRefreshRateLimit = 10 * time.Second
	DefaultFetchTimeout     = 5 * time.Second
	DefaultMaxJWKSBytes     = 512 << 10
	DefaultIntrospectionTTL = 30 * time.Second
	DefaultIntrospectionTTO = 5 * time.Second
	// DefaultInactiveCacheTTL keeps inactive introspection answers briefly: long enough to absorb
	// a client retrying a dead token, short enough that a token activated later is seen.
	DefaultInactiveCacheTTL    = 5 * time.Second
	MaxInactiveCacheTTL        = time.Minute
	DefaultMaxIntrospectionRsp = 64 << 10
	// DefaultMaxIntrospections bounds introspection calls in flight; concurrent requests for one
	// token share a call, so this counts distinct tokens being checked at once.
	DefaultMaxIntrospections = 32

	DefaultDataDir         = "./data"
	DefaultRevocationStore = "file"
	DefaultOnStoreError    = "deny"

	DefaultPEPAuth         = "none"
	DefaultResponseContext = "minimal"

	DefaultDecisionLogSink   = "stdout"
	DefaultDecisionLogBuffer = 4096
	// Defaults of the decision log's file rotation and http sink.
	DefaultDecisionLogMaxSizeMB     = 100
	DefaultDecisionLogBatchBytes    = 256 << 10
	DefaultDecisionLogFlush         = time.Second
	DefaultDecisionLogBufferBytes   = 32 << 20
	DefaultDecisionLogHTTPTimeout   = 10 * time.Second
	DefaultDecisionLogMinRetryDelay = 100 * time.Millisecond
	DefaultDecisionLogMaxRetryDelay = 30 * time.Second
)

// defaultAlgorithms are the signature algorithms an issuer accepts when it names none.
var defaultAlgorithms = []string{"RS256", "ES256", "EdDSA"}

// DefaultClaims maps subject properties to claim paths when an issuer's mapping is silent.
func DefaultClaims() map[string]string {
	return map[string]string{
		"roles":     "roles",
		"tenant":    "tenant",
		"scopes":    "scope",
		"amr":       "amr",
		"acr":       "acr",
		"auth_time": "auth_time",
		"client_id": "client_id",
		"clearance": "clearance",
	}
}

// Default returns a configuration with every default filled in.
func Default() Config {
	var c Config
	c.SetDefaults()
	return c
}

// SetDefaults fills every unset key with its default.
func (c *Config) SetDefaults() {
	setDefault(&c.DataDir, DefaultDataDir)
	c.Server.SetDefaults()
	c.Policy.SetDefaults()
	c.Tokens.SetDefaults()
	c.Revocation.SetDefaults(c.DataDir)
	setDefault(&c.AuthZEN.PEPAuth, DefaultPEPAuth)
	setDefault(&c.AuthZEN.ResponseContext, DefaultResponseContext)
	setDefault(&c.DecisionLog.Sink, DefaultDecisionLogSink)
	c.DecisionLog.SetDefaults()
}

// SetDefaults fills every unset decision-log key with its default.
func (d *DecisionLog) SetDefaults() {
	setDefault(&d.Sink, DefaultDecisionLogSink)
	setDefault(&d.Buffer, DefaultDecisionLogBuffer)
	setDefault(&d.MaxSizeMB, DefaultDecisionLogMaxSizeMB)
	if h := d.HTTP; h != nil {
		setDefault(&h.BatchBytes, DefaultDecisionLogBatchBytes)
		setDefault(&h.FlushInterval, DefaultDecisionLogFlush)
		setDefault(&h.BufferBytes, DefaultDecisionLogBufferBytes)
		setDefault(&h.Timeout, DefaultDecisionLogHTTPTimeout)
		setDefault(&h.MinRetryDelay, DefaultDecisionLogMinRetryDelay)
		setDefault(&h.MaxRetryDelay, DefaultDecisionLogMaxRetryDelay)
	}
}

// SetDefaults fills every unset server key with its default.
func (s *Server) SetDefaults() {
	setDefault(&s.Addr, DefaultAddr)
	setDefault(&s.MaxBodyBytes, DefaultMaxBodyBytes)
	setDefault(&s.MaxDataResponseBytes, DefaultMaxDataResponse)
	setDefault(&s.MaxHeaderBytes, DefaultMaxHeaderBytes)
	setDefault(&s.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	setDefault(&s.ReadTimeout, DefaultReadTimeout)
	setDefault(&s.WriteTimeout, DefaultWriteTimeout)
	setDefault(&s.IdleTimeout, DefaultIdleTimeout)
	setDefault(&s.ShutdownTimeout, DefaultShutdownTimeout)
	setUnset(&s.ShutdownDelay, DefaultShutdownDelay)
	setDefault(&s.MaxBatch, DefaultMaxBatch)
	setDefault(&s.BatchConcurrency, DefaultBatchConcurrency)
	if s.TLS != nil && s.TLS.ClientCA != "" {
		setDefault(&s.TLS.ClientAuth, DefaultClientAuth)
	}
	if s.CORS != nil {
		if len(s.CORS.AllowedMethods) == 0 {
			s.CORS.AllowedMethods = []string{"GET", "POST"}
		}
		if len(s.CORS.AllowedHeaders) == 0 {
			s.CORS.AllowedHeaders = []string{"Authorization", "Content-Type", "X-Request-ID"}
		}
		setDefault(&s.CORS.MaxAge, DefaultCORSMaxAge)
	}
	if s.RateLimit != nil {
		setDefault(&s.RateLimit.MaxKeys, DefaultRateLimitMaxKeys)
	}
}

// SetDefaults fills every unset policy key with its default.
func (p *Policy) SetDefaults() {
	setDefault(&p.PollInterval, DefaultPollInterval)
	setDefault(&p.DownloadTimeout, DefaultDownloadTimeout)
	setDefault(&p.Entrypoint, DefaultEntrypoint)
	setDefault(&p.DecisionTimeout, DefaultDecisionTimeout)
	setDefault(&p.MaxBundleBytes, DefaultMaxBundleBytes)
	setDefault(&p.InterQueryCacheBytes, DefaultInterQueryCacheBytes)
	setDefault(&p.ValueCacheEntries, DefaultValueCacheEntries)
	setUnset(&p.DecisionCacheBytes, DefaultDecisionCacheBytes)
}

// SetDefaults fills every unset token key with its default.
func (t *Tokens) SetDefaults() {
	setDefault(&t.CacheSize, DefaultCacheSize)
	setDefault(&t.CacheMaxBytes, DefaultCacheMaxBytes)
	setDefault(&t.MaxTokenBytes, DefaultMaxTokenBytes)
	for i := range t.Issuers {
		t.Issuers[i].SetDefaults()
	}
	if t.Introspection != nil {
		setUnset(&t.Introspection.CacheTTL, DefaultIntrospectionTTL)
		setDefault(&t.Introspection.Timeout, DefaultIntrospectionTTO)
		setUnset(&t.Introspection.InactiveCacheTTL, DefaultInactiveCacheTTL)
		setDefault(&t.Introspection.MaxResponseBytes, DefaultMaxIntrospectionRsp)
		setDefault(&t.Introspection.MaxConcurrent, DefaultMaxIntrospections)
		setUnset(&t.Introspection.Leeway, DefaultLeeway)
		t.Introspection.Claims = withDefaultClaims(t.Introspection.Claims)
	}
}

// SetDefaults fills every unset issuer key with its default.
func (is *Issuer) SetDefaults() {
	if len(is.Algorithms) == 0 {
		is.Algorithms = append([]string(nil), defaultAlgorithms...)
	}
	setUnset(&is.RequireTyp, DefaultTyp)
	setUnset(&is.Leeway, DefaultLeeway)
	setDefault(&is.RefreshInterval, DefaultRefreshInterval)
	setDefault(&is.RefreshRateLimit, DefaultRefreshRateLimit)
	setDefault(&is.FetchTimeout, DefaultFetchTimeout)
	setDefault(&is.MaxJWKSBytes, DefaultMaxJWKSBytes)
	setDefault(&is.SubjectClaim, DefaultSubjectClaim)
	is.Claims = withDefaultClaims(is.Claims)
}

// SetDefaults fills every unset revocation key with its default.
func (r *Revocation) SetDefaults(dataDir string) {
	setDefault(&r.Store, DefaultRevocationStore)
	setDefault(&r.Path, dataDir+"/revocations.db")
	setDefault(&r.OnStoreError, DefaultOnStoreError)
}

func withDefaultClaims(m map[string]string) map[string]string {
	out := DefaultClaims()
	for k, v := range m {
		out[k] = v
	}
	return out
}

// setDefault sets a key whose zero value means "use the default".
func setDefault[T comparable](field *T, value T) {
	var zero T
	if *field == zero {
		*field = value
	}
}

// setUnset sets a key left out of every source, for the few keys whose zero value means
// something of its own (no leeway, no cache, any typ).
func setUnset[T any](field **T, value T) {
	if *field == nil {
		*field = &value
	}
}

// ValueOr is *p, or def when p is nil: how the packages configured by a Config read the keys
// setUnset fills, so that a Config built without SetDefaults still means the defaults.
func ValueOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

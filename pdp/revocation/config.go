package revocation

import (
	"errors"
	"fmt"
	"time"

	"github.com/verdict-pdp/verdict/pdp/config"
)

// Store kinds and on_store_error modes, as the configuration spells them.
const (
	StoreFile    = "file"
	StoreRedis   = "redis"
	OnErrorDeny  = "deny"
	OnErrorAllow = "allow"
)

// Redis names: the key prefixes of revoked jtis and subject not-befores (each followed by a hex
// SHA-256 of the issuer, NUL, the id).
const (
	RedisKeyToken = "verdict:revoked:jti:"
	RedisKeySub   = "verdict:revoked:sub:"
)

// Defaults for what the configuration file does not say.
const (
	// DefaultRetention keeps a subject not-before, or a jti revocation whose exp is unknown, when
	// some issuer sets no max_lifetime: tokens are assumed to live at most this long.
	DefaultRetention = 24 * time.Hour
	// DefaultPurgeInterval is how often the file store deletes expired records.
	DefaultPurgeInterval = 10 * time.Minute
	// DefaultCheckTimeout bounds one Redis check, so a hung server costs a request at most this.
	DefaultCheckTimeout = 500 * time.Millisecond
)

// Config configures a Store: the revocation section of the configuration plus what follows from
// the token issuers. Build it with ConfigFrom.
type Config struct {
	config.Revocation
	// Retention is how long a subject not-before is kept, and a jti revocation whose exp is not
	// known: the longest lifetime of any accepted token, plus leeway.
	Retention time.Duration
	// Leeway is added to a revoked token's exp, because the verifier accepts tokens that long
	// past exp.
	Leeway time.Duration
	// PurgeInterval is how often the file store deletes expired records.
	PurgeInterval time.Duration
	// CheckTimeout bounds one Redis round trip.
	CheckTimeout time.Duration
}

// ConfigFrom derives a Store's configuration from Verdict's. Retention is the largest issuer
// max_lifetime plus the largest leeway when every issuer caps lifetimes and no introspection is
// configured, and DefaultRetention otherwise.
func ConfigFrom(c config.Config) Config {
	out := Config{
		Revocation:    c.Revocation,
		PurgeInterval: DefaultPurgeInterval,
		CheckTimeout:  DefaultCheckTimeout,
	}
	var longest time.Duration
	capped := len(c.Tokens.Issuers) > 0 && c.Tokens.Introspection == nil
	for _, is := range c.Tokens.Issuers {
		out.Leeway = max(out.Leeway, config.ValueOr(is.Leeway, config.DefaultLeeway))
		if is.MaxLifetime <= 0 {
			capped = false
		}
		longest = max(longest, is.MaxLifetime)
	}
	out.Retention = DefaultRetention
	if capped {
		out.Retention = longest
	}
	out.Retention += out.Leeway
	return out
}

// validate checks what config.Validate cannot see: the derived durations, and the two
// enumerations, since a library caller may build a Config by hand. Empty paths and URLs fail
// when the backend opens them.
func (c Config) validate() error {
	var errs []error
	if c.Store != StoreFile && c.Store != StoreRedis {
		errs = append(errs, fmt.Errorf("revocation.store: %q is not file or redis", c.Store))
	}
	if c.OnStoreError != OnErrorDeny && c.OnStoreError != OnErrorAllow {
		errs = append(errs, fmt.Errorf("revocation.on_store_error: %q is not deny or allow", c.OnStoreError))
	}
	if c.Retention <= 0 || c.Leeway < 0 || c.PurgeInterval <= 0 || c.CheckTimeout <= 0 {
		errs = append(errs, errors.New("revocation: retention, purge interval and check timeout must be positive, leeway not negative"))
	}
	return errors.Join(errs...)
}

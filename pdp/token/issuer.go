package token

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/redact"
)

// allowedAlgorithms are the JWS algorithms an issuer may be pinned to: asymmetric only. HMAC
// beside public keys is how algorithm-confusion attacks start, and none is never a signature.
var allowedAlgorithms = []string{
	"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512", "EdDSA",
}

// issuer verifies the tokens of one configured issuer with its own parser and keys only.
type issuer struct {
	name       string
	parser     *jwt.Parser
	keys       keySource
	requireTyp string
	claims     map[string]string
	// audiences and leeway are also in parser; kept to explain refusals.
	audiences []string
	leeway    time.Duration
	// subjectClaim is the claim whose string value is Principal.Subject.
	subjectClaim string
	required     []string
	maxLifetime  time.Duration
}

// newIssuer builds an issuer from its configuration, re-checking what config validation already
// checks where a mistake would weaken verification (audience, algorithms).
func newIssuer(cfg config.Issuer, rt verifierEnv) (*issuer, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("issuer: must be set")
	}
	if len(cfg.Audiences) == 0 || slices.Contains(cfg.Audiences, "") {
		return nil, errors.New("audiences: at least one non-empty audience is required")
	}
	if len(cfg.Algorithms) == 0 {
		return nil, errors.New("algorithms: must not be empty")
	}
	for _, alg := range cfg.Algorithms {
		if !slices.Contains(allowedAlgorithms, alg) || jwt.GetSigningMethod(alg) == nil {
			return nil, fmt.Errorf("algorithms: %q is not allowed (asymmetric JWS algorithms only)", alg)
		}
	}
	leeway := config.ValueOr(cfg.Leeway, config.DefaultLeeway)
	if leeway < 0 || leeway > config.MaxLeeway {
		return nil, fmt.Errorf("leeway: must be between 0 and %s", config.MaxLeeway)
	}
	keys, err := newKeySource(cfg, rt)
	if err != nil {
		return nil, err
	}
	requireTyp := config.ValueOr(cfg.RequireTyp, config.DefaultTyp)
	claims := cfg.Claims
	if claims == nil {
		claims = config.DefaultClaims()
	}
	return &issuer{
		name: cfg.Issuer,
		parser: jwt.NewParser(
			jwt.WithValidMethods(slices.Clone(cfg.Algorithms)),
			jwt.WithIssuer(cfg.Issuer),
			// WithAudience is any-of in golang-jwt v5.3 (WithAllAudiences is all-of): a token
			// for any one configured audience is for us.
			jwt.WithAudience(slices.Clone(cfg.Audiences)...),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(leeway),
			jwt.WithStrictDecoding(),
			jwt.WithJSONNumber(),
			jwt.WithTimeFunc(rt.now),
		),
		keys:         keys,
		requireTyp:   requireTyp,
		claims:       claims,
		audiences:    slices.Clone(cfg.Audiences),
		leeway:       leeway,
		subjectClaim: cmp.Or(cfg.SubjectClaim, config.DefaultSubjectClaim),
		required:     slices.Clone(cfg.RequiredClaims),
		maxLifetime:  cfg.MaxLifetime,
	}, nil
}

// newKeySource loads the issuer's keys from its one configured source. A remote source
// (jwks_url, discovery) is only set up here: its keys arrive from the background loop the
// Verifier starts, so an IdP that is down does not stop Verdict from starting.
func newKeySource(cfg config.Issuer, rt verifierEnv) (keySource, error) {
	var (
		keys   []*verifyKey
		source string
		where  string
		err    error
	)
	sources := 0
	for _, set := range []bool{cfg.JWKSURL != "", cfg.Discovery, cfg.JWKSFile != "", len(cfg.PublicKeys) > 0} {
		if set {
			sources++
		}
	}
	switch {
	case sources > 1:
		return nil, errors.New("keys: set one of jwks_url, discovery, jwks_file or public_keys, not both")
	case cfg.JWKSURL != "" || cfg.Discovery:
		return newRemoteSource(cfg, rt)
	case cfg.JWKSFile != "":
		source, where = "jwks_file", cfg.JWKSFile
		keys, err = loadJWKSFile(cfg.JWKSFile, cfg.Algorithms, rt.log)
	case len(cfg.PublicKeys) > 0:
		source, where = "public_keys", fmt.Sprint(cfg.PublicKeys)
		keys, err = loadPEMFiles(cfg.PublicKeys, cfg.Algorithms)
	default:
		return nil, errors.New("keys: one of jwks_url, discovery, jwks_file or public_keys is required")
	}
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	set, err := newKeySet(keys)
	if err != nil {
		return nil, fmt.Errorf("keys: %s: %w", where, err)
	}
	return &staticKeys{set: set, source: source}, nil
}

// newRemoteSource checks a remote source's settings (config validation does too, but a zero
// here would mean a busy loop or no cap) and builds it.
func newRemoteSource(cfg config.Issuer, rt verifierEnv) (keySource, error) {
	if cfg.JWKSURL != "" {
		if err := checkHTTPURL(cfg.JWKSURL); err != nil {
			return nil, fmt.Errorf("jwks_url: %w", err)
		}
	} else if err := checkHTTPURL(cfg.Issuer); err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	if cfg.RefreshInterval <= 0 || cfg.RefreshRateLimit <= 0 || cfg.FetchTimeout <= 0 || cfg.MaxJWKSBytes <= 0 {
		return nil, errors.New("refresh_interval, refresh_rate_limit, fetch_timeout and max_jwks_bytes: must be positive")
	}
	where := cfg.JWKSURL
	if cfg.Discovery {
		where = cfg.Issuer
	}
	if plainHTTP(where) {
		rt.log.Warn("INSECURE: signing keys are fetched over plain http; anyone on the path can substitute them",
			"issuer", cfg.Issuer, "url", redact.URL(where))
	}
	return newRemoteKeys(rt.life, cfg, rt.client, rt.now, rt.log), nil
}

// verify checks the header rules, the signature with this issuer's keys and the registered
// claims, then Verdict's own claim rules, and returns the claims with the id of the key that
// verified them. u is the token's unverified routing view.
func (is *issuer) verify(ctx context.Context, raw string, u *unverified) (jwt.MapClaims, string, error) {
	if err := checkHeader(u.header, is.requireTyp); err != nil {
		return nil, "", err
	}
	var used string
	keyfunc := func(t *jwt.Token) (any, error) {
		set, err := is.keys.keys(ctx, u.kid)
		if err != nil {
			return nil, err
		}
		k, err := set.lookup(u.kid, u.hasKID)
		if err != nil {
			return nil, err
		}
		if !k.allows(t.Method.Alg()) {
			return nil, fmt.Errorf("%w: %s with key %q", ErrKeyAlgorithm, t.Method.Alg(), k.kid)
		}
		used = k.kid
		return k.pub, nil
	}
	claims := jwt.MapClaims{}
	if _, err := is.parser.ParseWithClaims(raw, claims, keyfunc); err != nil {
		return nil, "", err
	}
	if err := is.checkClaims(claims); err != nil {
		return nil, "", err
	}
	return claims, used, nil
}

// stringClaims must be strings whenever present; golang-jwt checks the registered time and
// audience claims, not these.
var stringClaims = []string{"sub", "jti", "client_id"}

// checkStringClaims fails with ErrClaim when one of names is present and not a string.
func checkStringClaims(c map[string]any, names ...string) error {
	for _, name := range names {
		if v, ok := c[name]; ok {
			if _, isString := v.(string); !isString {
				return fmt.Errorf("%w: %s is not a string", ErrClaim, name)
			}
		}
	}
	return nil
}

// checkClaims enforces claim types, the range of exp, iat and nbf, the issuer's required claims
// and its max_lifetime.
func (is *issuer) checkClaims(c jwt.MapClaims) error {
	if err := checkStringClaims(c, stringClaims...); err != nil {
		return err
	}
	if err := checkStringClaims(c, is.subjectClaim); err != nil {
		return err
	}
	if err := checkTimeClaims(c); err != nil {
		return err
	}
	for _, name := range is.required {
		v, ok := c[name]
		if !ok || v == nil || v == "" {
			return fmt.Errorf("%w: %s is required", ErrClaim, name)
		}
	}
	if is.maxLifetime <= 0 {
		return nil
	}
	exp, _ := c.GetExpirationTime() // validated by the parser
	iat, _ := c.GetIssuedAt()
	if exp == nil || iat == nil {
		return fmt.Errorf("%w: iat is required when max_lifetime is set", ErrClaim)
	}
	if life := exp.Sub(iat.Time); life > is.maxLifetime {
		return fmt.Errorf("%w: %s, at most %s", ErrLifetime, life.Round(time.Second), is.maxLifetime)
	}
	return nil
}

// checkTimeClaims fails with ErrClaim and ErrTimeRange when exp, iat or nbf lies outside
// MinTime to MaxTime: golang-jwt has checked them against the clock only, and a far-future exp
// would outlive anything a revocation store can record.
func checkTimeClaims(c jwt.MapClaims) error {
	for _, claim := range []struct {
		name string
		get  func() (*jwt.NumericDate, error)
	}{{"exp", c.GetExpirationTime}, {"iat", c.GetIssuedAt}, {"nbf", c.GetNotBefore}} {
		at, _ := claim.get() // their types were validated by the parser
		if at == nil {
			continue
		}
		if err := CheckTime(claim.name, at.Time); err != nil {
			return fmt.Errorf("%w: %w", ErrClaim, err)
		}
	}
	return nil
}

// describe names the issuer's key source and key ids for status reports.
func (is *issuer) describe() IssuerStats {
	st := IssuerStats{Issuer: is.name, Source: is.keys.kind(), KeyIDs: []string{}}
	if set := is.keys.current(); set != nil {
		st.KeyIDs = set.ids()
	}
	is.keys.describe(&st)
	return st
}

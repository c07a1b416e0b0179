// Package token verifies OAuth 2.0 access tokens the way a careful resource server does: JWTs
// against pinned issuers, audiences, algorithms and key sets, opaque tokens through RFC 7662
// introspection, both checked for revocation on every request. A verified token becomes a
// Principal whose properties come from the issuer's claim mapping.
//
// The request path is BearerToken (one Authorization header, RFC 6750 syntax, a length cap)
// then Verifier.Verify: a cache lookup keyed by the SHA-256 of the whole token, and on a miss
// routing by the unverified iss to that issuer alone, golang-jwt verification into MapClaims
// with the issuer's parser (pinned algorithms, iss, any-of aud, required exp, iat, leeway,
// strict base64, json.Number), Verdict's own header and claim rules, and the claim mapping.
// Revocation is asked on hits and misses alike. Every error wraps one of ErrNoCredentials,
// ErrInvalidRequest, ErrInvalidToken or ErrUnavailable, which the HTTP layer maps to RFC 6750
// responses, plus a finer reason for logs.
//
// Keys come from a jwks_file or PEM public_keys, loaded by New, or from a jwks_url or OIDC /
// RFC 8414 discovery, fetched in the background from New on and refreshed on a schedule and on
// an unknown kid (rate limited, shared, bounded by the request's context; the last good set is
// kept when a fetch fails). Every key, local or fetched, passes one policy (keyFromJWK) that binds
// it to the algorithms its type allows. Close stops the background refreshes.
//
// A token that is not three dot-separated segments is opaque: it goes to RFC 7662
// introspection when tokens.introspection is configured, and is refused otherwise. The two paths
// never fall back to each other. Active answers share the verified-token cache (until
// min(exp, now + cache_ttl)); refused ones go to a small cache of their own.
//
// LoadOrCreateDevKey, LoadDevKey, Mint, MintWithType and LoadSigningKey serve `verdict serve
// --dev` and `verdict token mint`.
package token

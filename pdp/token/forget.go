package token

import "slices"

// Forget drops from the verified-token cache every token whose principal match reports true,
// and returns how many it dropped. The revocation store calls it when a revocation is recorded
// here or on another replica, so revoked tokens leave every cache at once. Correctness does not
// depend on it (revocation is checked on every request, cache hits included); it keeps revoked
// principals out of memory. It scans the cache, so it costs O(tokens.cache_size).
func (v *Verifier) Forget(match func(*Principal) bool) int {
	n := 0
	for _, key := range v.cache.lru.Keys() {
		if e, ok := v.cache.lru.Peek(key); ok && match(e.principal) {
			v.cache.remove(key)
			n++
		}
	}
	return n
}

// forgetKeys drops the cached JWTs of issuer that one of kids verified: a key the IdP stopped
// publishing (rotated out, or withdrawn because it leaked) must stop vouching for tokens at the
// refresh that sees it gone, not when their exp comes.
func (v *Verifier) forgetKeys(issuer string, kids []string) {
	n := v.Forget(func(p *Principal) bool {
		return p.Kind == "jwt" && p.Issuer == issuer && slices.Contains(kids, p.keyID)
	})
	v.log.Info("signing keys withdrawn", "issuer", issuer, "key_ids", kids, "cached_tokens_dropped", n)
}

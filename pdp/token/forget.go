package token

import "slices"

// forgetKeys drops the cached JWTs of issuer that one of kids verified: a key the IdP stopped
// publishing (rotated out, or withdrawn because it leaked) must stop vouching for tokens at the
// refresh that sees it gone, not when their exp comes. It scans the cache, which is acceptable
// for an event as rare as a key withdrawal; revocations never scan it (they are checked on
// every request, and a revoked token leaves the cache at its next use).
func (v *Verifier) forgetKeys(issuer string, kids []string) {
	n := 0
	for _, key := range v.cache.entries.Keys() {
		e, ok := v.cache.entries.Peek(key)
		if ok && e.principal.Kind == "jwt" && e.principal.Issuer == issuer && slices.Contains(kids, e.principal.keyID) {
			v.cache.remove(key)
			n++
		}
	}
	v.log.Info("signing keys withdrawn", "issuer", issuer, "key_ids", kids, "cached_tokens_dropped", n)
}

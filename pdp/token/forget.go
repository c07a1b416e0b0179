package token

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

package token

import "encoding/json"

// What a cached token is charged, in bytes. The estimate is made once, when the token is
// cached, and covers everything the entry keeps alive: the Principal, its claim and property
// maps, and the policy values a caller builds from them through Derived (in Verdict, an OPA
// value of the subject and one of the token, which hold every claim again). The constants come
// from measuring the heap growth per cached and derived principal;
// pdp/httpapi's TestTokenCacheCharge keeps the estimate within a factor of what it measures.
const (
	// entryBaseBytes is the LRU element and map slot, the cache entry, the Principal and the
	// fixed parts of its policy values.
	entryBaseBytes = 1024
	// valueBytes is charged for every value in the claims and the properties (each map, array,
	// string, number or literal, nested ones included) and every object member: the Go value
	// and its map slot or array element, and its OPA term in the policy values.
	valueBytes = 128
)

// entryCost estimates the memory a cached Principal holds: a fixed part, valueBytes for every
// value and member of its claims and properties, and the bytes of its strings. Strings are
// charged once though the properties share many with the claims, and the OPA values share
// them with both.
func entryCost(p *Principal) int64 {
	return entryBaseBytes + valueCost(p.Claims) + valueCost(p.Properties)
}

// valueCost is the charge of a decoded JSON value and everything it contains.
func valueCost(v any) int64 {
	n := int64(valueBytes)
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			n += valueBytes + int64(len(k)) + valueCost(e)
		}
	case []any:
		for _, e := range t {
			n += valueCost(e)
		}
	case string:
		n += int64(len(t))
	case json.Number:
		n += int64(len(t))
	}
	return n
}

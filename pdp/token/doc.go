// Package token verifies OAuth 2.0 access tokens the way a careful resource server does: JWTs
// against pinned issuers, audiences, algorithms and key sets, opaque tokens through RFC 7662
// introspection, both checked for revocation on every request. A verified token becomes a
// Principal whose properties come from the issuer's claim mapping.
package token

// Package revocation records revoked access tokens and answers, on every request, whether a
// verified token is revoked. A token is revoked when its (iss, jti) is listed, or when its
// subject (iss, sub) has a not-before and the token was issued before it (password reset,
// account disabled). Every record expires when no token it could match can still be accepted,
// so the store stays as small as the set of live revoked tokens.
//
// A Store keeps one rule for matching, defaults and error handling over two backends: a bbolt
// file (the default; durable across restarts of one process) and Redis (shared by replicas;
// keys with a TTL). A revocation is one write: replicas see it at their next check, and cached
// tokens are not searched for it. The Store implements token.RevocationChecker; the token
// package never imports this one.
package revocation

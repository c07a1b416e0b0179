// Package strictjson refuses JSON documents that two parsers could read differently.
//
// encoding/json keeps the last of two members with the same name, matches member names to
// struct fields without regard to case, and turns invalid UTF-8 and unpaired UTF-16 surrogate
// escapes into U+FFFD. Another parser reading the same bytes (the caller's, a proxy's, a log
// pipeline's) may keep the first member, match names exactly, or keep the bytes as sent, and
// so see a different subject, claim or key than Verdict. Check refuses every such document, so
// a document Verdict accepts means one thing. It is used on every HTTP request body and on
// every token payload, introspection answer, JWK Set and discovery document.
package strictjson

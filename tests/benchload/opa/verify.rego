# Package bench.opa is the OPA side of `make bench-load`: it verifies the access token passed
# in input.token with io.jwt.decode_verify (RS256, typ at+jwt, iss, aud, exp), builds the
# subject from the verified claims as Verdict does with its default claim mapping, and asks
# the same small policy (bench.authz) for the decision. An unverified token is a deny.
package bench.opa

import data.bench.authz

claims := payload if {
	[valid, header, payload] := io.jwt.decode_verify(input.token, {
		"cert": data.benchkeys.jwks,
		"alg": "RS256",
		"iss": data.benchkeys.issuer,
		"aud": "verdict",
	})
	valid
	lower(header.typ) == "at+jwt"
}

subject := {"type": "user", "id": claims.sub, "properties": {
	"roles": claims.roles,
	"tenant": claims.tenant,
	"amr": claims.amr,
	"scopes": split(claims.scope, " "),
}}

default decision := {"allow": false, "reasons": ["token: not verified"]}

# METADATA
# entrypoint: true
decision := d if {
	d := authz.decision with input.subject as subject
}

package bench.authz_test

import data.bench.authz

editor := {"type": "user", "id": "alice", "properties": {"roles": ["editor"], "tenant": "acme", "amr": ["pwd", "otp"]}}

doc := {"type": "document", "id": "doc-1", "properties": {"tenant": "acme"}}

cases := [
	{"name": "editor reads a same-tenant document", "subject": editor, "action": "read", "context": {"ip": "203.0.113.7"}, "allow": true},
	{"name": "viewer may not update", "subject": object.union(editor, {"properties": {"roles": ["viewer"]}}), "action": "update", "context": {}, "allow": false},
	{"name": "no role", "subject": object.union(editor, {"properties": {"roles": []}}), "action": "read", "context": {}, "allow": false},
	{"name": "other tenant", "subject": object.union(editor, {"properties": {"tenant": "globex"}}), "action": "read", "context": {}, "allow": false},
	{"name": "no tenant", "subject": object.remove(editor, ["properties"]), "action": "read", "context": {}, "allow": false},
	{"name": "bad ip", "subject": editor, "action": "read", "context": {"ip": "192.0.2.66"}, "allow": false},
	{"name": "suspicious ip alone", "subject": editor, "action": "read", "context": {"ip": "198.51.100.20"}, "allow": true},
	{"name": "new device without mfa", "subject": object.union(editor, {"properties": {"amr": ["pwd"]}}), "action": "read", "context": {"new_device": true}, "allow": true},
	{"name": "suspicious ip without mfa", "subject": object.union(editor, {"properties": {"amr": ["pwd"]}}), "action": "read", "context": {"ip": "198.51.100.20"}, "allow": false},
]

test_decisions if {
	every c in cases {
		d := authz.decision with input as {"subject": c.subject, "action": {"name": c.action}, "resource": doc, "context": c.context}
		d.allow == c.allow
	}
}

test_deny_has_reasons if {
	d := authz.decision with input as {"subject": editor, "action": {"name": "read"}, "resource": doc, "context": {"ip": "192.0.2.66"}}
	d.reasons == {"risk: score 70 reaches 50"}
	d.risk.signals == {"ip_bad"}
}

package verdict.resources.invoice_test

import data.verdict.authz

# approve builds a request by alice, holding roles, to approve an invoice of
# tenant acme with the given properties merged in.
approve(roles, props) := {
	"subject": {"type": "user", "id": "alice", "properties": {
		"roles": roles, "tenant": "acme",
		"amr": ["pwd", "otp"], "auth_time": 1795341540,
	}},
	"action": {"name": "approve"},
	"resource": {"type": "invoice", "id": "inv-1", "properties": object.union({"tenant": "acme"}, props)},
	"context": {"time": "2026-11-22T10:00:00Z"},
}

audit := {"type": "audit", "reason": "invoice over the approval limit"}

cases := [
	{"name": "finance approves 500", "input": approve(["finance"], {"amount": 500}), "want": {"allow": true, "obligations": []}},
	{"name": "finance approves the limit", "input": approve(["finance"], {"amount": 1000}), "want": {"allow": true, "obligations": []}},
	{
		"name": "finance may not approve 5000",
		"input": approve(["finance"], {"amount": 5000}),
		"want": {"allow": false, "reasons": ["invoice: approving 5000 is over the limit of 1000 and needs role manager"]},
	},
	{
		"name": "finance and manager approve 5000",
		"input": approve(["finance", "manager"], {"amount": 5000}),
		"want": {"allow": true, "obligations": [audit]},
	},
	{
		"name": "manager alone may not approve",
		"input": approve(["manager"], {"amount": 500}),
		"want": {"allow": false, "reasons": ["rbac: no role of alice grants approve on invoice"]},
	},
	{
		"name": "missing amount fails closed",
		"input": approve(["finance", "manager"], {}),
		"want": {"allow": false, "reasons": ["invoice: approve needs a numeric amount"]},
	},
	{
		"name": "amount as a string fails closed",
		"input": approve(["finance"], {"amount": "500"}),
		"want": {"allow": false, "reasons": ["invoice: approve needs a numeric amount"]},
	},
	{
		"name": "finance reads an invoice",
		"input": object.union(approve(["finance"], {}), {"action": {"name": "read"}}),
		"want": {"allow": true},
	},
	{
		"name": "finance may not approve a document",
		"input": object.union(approve(["finance"], {"amount": 500}), {"resource": {"type": "document"}}),
		"want": {"allow": false, "reasons": ["rbac: no role of alice grants approve on document"]},
	},
	{
		"name": "manager may not approve a document",
		"input": object.union(approve(["manager"], {"amount": 500}), {"resource": {"type": "document"}}),
		"want": {"allow": false, "reasons": ["rbac: no role of alice grants approve on document"]},
	},
]

test_invoice_decisions if {
	got := {c.name: v |
		some c in cases
		d := authz.decision with input as c.input
		v := object.filter(d, object.keys(c.want))
	}
	failed := {c.name | some c in cases; got[c.name] != c.want}
	print("failed:", failed)
	count(failed) == 0
}

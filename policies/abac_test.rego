package verdict.abac_test

import data.verdict.abac

# req builds a request by alice (or a subject with the given id) on document doc-1.
req(id, roles, subject_props, action, resource_props) := {
	"subject": {"type": "user", "id": id, "properties": object.union({"roles": roles}, subject_props)},
	"action": {"name": action},
	"resource": {"type": "document", "id": "doc-1", "properties": resource_props},
}

acme := {"tenant": "acme"}

own := {"tenant": "acme", "owner": "alice"}

others := {"tenant": "acme", "owner": "bob"}

classified(level) := {"tenant": "acme", "owner": "alice", "classification": level}

cleared(level) := {"tenant": "acme", "clearance": level}

failed(cases, got) := {c.name | some c in cases} - {c.name | some c in cases; got[c.name] == c.want}

ownership_msg(id, action) := sprintf("abac: %s does not own document doc-1; %s needs ownership or role admin", [id, action])

below_msg(clearance, classification) := sprintf(
	"abac: clearance %s of alice is below classification %s of document doc-1",
	[clearance, classification],
)

deny_cases := [
	# Tenant isolation.
	{"name": "same tenant", "input": req("alice", ["viewer"], acme, "read", own), "want": set()},
	{
		"name": "cross tenant",
		"input": req("alice", ["viewer"], acme, "read", {"tenant": "globex"}),
		"want": {"abac: subject tenant acme does not match tenant globex of document doc-1"},
	},
	{
		"name": "subject without tenant",
		"input": req("alice", ["viewer"], {}, "read", own),
		"want": {"abac: subject has no tenant"},
	},
	{
		"name": "subject with empty tenant",
		"input": req("alice", ["viewer"], {"tenant": ""}, "read", own),
		"want": {"abac: subject has no tenant"},
	},
	{
		"name": "resource without tenant",
		"input": req("alice", ["viewer"], acme, "read", {"owner": "alice"}),
		"want": {"abac: document doc-1 has no tenant"},
	},
	{
		"name": "resource tenant of the wrong type",
		"input": req("alice", ["viewer"], acme, "read", {"tenant": 7}),
		"want": {"abac: document doc-1 has no tenant"},
	},
	{
		"name": "create without resource id",
		"input": {"subject": {"id": "alice", "properties": acme}, "action": {"name": "create"}, "resource": {"type": "document"}},
		"want": {"abac: document has no tenant"},
	},
	{
		"name": "no resource at all",
		"input": {"subject": {"id": "alice", "properties": acme}, "action": {"name": "read"}},
		"want": {"abac: resource has no tenant"},
	},
	# Ownership.
	{"name": "editor updates own", "input": req("alice", ["editor"], acme, "update", own), "want": set()},
	{"name": "editor deletes own", "input": req("alice", ["editor"], acme, "delete", own), "want": set()},
	{"name": "editor reads others", "input": req("alice", ["editor"], acme, "read", others), "want": set()},
	{"name": "editor creates", "input": req("alice", ["editor"], acme, "create", acme), "want": set()},
	{
		"name": "editor updates others",
		"input": req("alice", ["editor"], acme, "update", others),
		"want": {ownership_msg("alice", "update")},
	},
	{
		"name": "editor deletes others",
		"input": req("alice", ["editor"], acme, "delete", others),
		"want": {ownership_msg("alice", "delete")},
	},
	{
		"name": "editor updates ownerless",
		"input": req("alice", ["editor"], acme, "update", acme),
		"want": {ownership_msg("alice", "update")},
	},
	{"name": "admin updates others", "input": req("alice", ["admin"], acme, "update", others), "want": set()},
	{"name": "admin deletes others", "input": req("alice", ["admin"], acme, "delete", others), "want": set()},
	{"name": "admin deletes ownerless", "input": req("alice", ["admin"], acme, "delete", acme), "want": set()},
	{
		"name": "subject without id never owns",
		"input": req("", ["editor"], acme, "update", {"tenant": "acme", "owner": ""}),
		"want": {ownership_msg("anonymous", "update")},
	},
	# Classification against clearance.
	{"name": "internal clearance reads public", "input": req("alice", ["viewer"], acme, "read", classified("public")), "want": set()},
	{"name": "internal clearance reads internal", "input": req("alice", ["viewer"], acme, "read", classified("internal")), "want": set()},
	{
		"name": "internal clearance reads confidential",
		"input": req("alice", ["viewer"], acme, "read", classified("confidential")),
		"want": {below_msg("internal", "confidential")},
	},
	{
		"name": "internal clearance reads restricted",
		"input": req("alice", ["viewer"], acme, "read", classified("restricted")),
		"want": {below_msg("internal", "restricted")},
	},
	{
		"name": "confidential clearance reads confidential",
		"input": req("alice", ["viewer"], cleared("confidential"), "read", classified("confidential")),
		"want": set(),
	},
	{
		"name": "confidential clearance reads restricted",
		"input": req("alice", ["viewer"], cleared("confidential"), "read", classified("restricted")),
		"want": {below_msg("confidential", "restricted")},
	},
	{
		"name": "restricted clearance reads restricted",
		"input": req("alice", ["viewer"], cleared("restricted"), "read", classified("restricted")),
		"want": set(),
	},
	{
		"name": "public clearance reads public",
		"input": req("alice", ["viewer"], cleared("public"), "read", classified("public")),
		"want": set(),
	},
	{
		"name": "public clearance reads internal",
		"input": req("alice", ["viewer"], cleared("public"), "read", classified("internal")),
		"want": {below_msg("public", "internal")},
	},
	{
		"name": "unclassified counts as internal",
		"input": req("alice", ["viewer"], cleared("public"), "read", own),
		"want": {below_msg("public", "internal")},
	},
	{
		"name": "null classification counts as internal",
		"input": req("alice", ["viewer"], cleared("public"), "read", classified(null)),
		"want": {below_msg("public", "internal")},
	},
	{
		"name": "null clearance counts as internal",
		"input": req("alice", ["viewer"], cleared(null), "read", classified("internal")),
		"want": set(),
	},
	{
		"name": "unknown classification",
		"input": req("alice", ["viewer"], acme, "read", classified("secret")),
		"want": {"abac: document doc-1 has unknown classification secret"},
	},
	{
		"name": "unknown clearance",
		"input": req("alice", ["viewer"], cleared("top"), "read", classified("public")),
		"want": {"abac: alice has unknown clearance top"},
	},
	# Everything at once.
	{
		"name": "every rule broken",
		"input": req("alice", ["editor"], cleared("public"), "delete", {"tenant": "globex", "owner": "bob", "classification": "restricted"}),
		"want": {
			"abac: subject tenant acme does not match tenant globex of document doc-1",
			ownership_msg("alice", "delete"),
			below_msg("public", "restricted"),
		},
	},
	{"name": "empty input", "input": {}, "want": {"abac: subject has no tenant", "abac: resource has no tenant"}},
]

test_deny_reasons if {
	got := {c.name: v | some c in deny_cases; v := abac.deny_reasons with input as c.input}
	f := failed(deny_cases, got)
	print("failed:", f)
	count(f) == 0
}

test_allow_iff_no_deny_reason if {
	got := {c.name: v | some c in deny_cases; v := abac.allow with input as c.input}
	want := {c.name: v | some c in deny_cases; v := count(c.want) == 0}
	got == want
}

test_classification_order_from_data if {
	levels := {"levels": ["open", "secret"], "default": "open", "default_clearance": "open"}
	abac.allow with input as req("alice", ["viewer"], acme, "read", own) with data.verdict.config.classification as levels
	not abac.allow with input as req("alice", ["viewer"], acme, "read", classified("secret"))
		with data.verdict.config.classification as levels
}

test_ownership_from_data if {
	ownership := {"actions": ["read"], "bypass_roles": ["auditor"]}
	not abac.allow with input as req("alice", ["viewer"], acme, "read", others) with data.verdict.config.ownership as ownership
	abac.allow with input as req("alice", ["auditor"], acme, "read", others) with data.verdict.config.ownership as ownership
	abac.allow with input as req("alice", ["editor"], acme, "update", others) with data.verdict.config.ownership as ownership
}

test_ownership_bypass_through_inheritance if {
	# editor inherits viewer, so a bypass granted to viewer reaches editors.
	ownership := {"actions": ["update"], "bypass_roles": ["viewer"]}
	abac.allow with input as req("alice", ["editor"], acme, "update", others) with data.verdict.config.ownership as ownership
	not abac.allow with input as req("alice", ["auditor"], acme, "update", others) with data.verdict.config.ownership as ownership
}

package verdict.rbac_test

import data.verdict.rbac

req(roles, scopes, action) := {
	"subject": {"type": "user", "id": "alice", "properties": {"roles": roles, "scopes": scopes}},
	"action": {"name": action},
	"resource": {"type": "document", "id": "doc-1"},
}

# failed returns the names of the cases whose got differs from want.
failed(cases, got) := {c.name | some c in cases} - {c.name | some c in cases; got[c.name] == c.want}

allow_cases := [
	{"name": "viewer reads", "input": req(["viewer"], [], "read"), "want": true},
	{"name": "viewer may not create", "input": req(["viewer"], [], "create"), "want": false},
	{"name": "viewer may not update", "input": req(["viewer"], [], "update"), "want": false},
	{"name": "editor reads through viewer", "input": req(["editor"], [], "read"), "want": true},
	{"name": "editor creates", "input": req(["editor"], [], "create"), "want": true},
	{"name": "editor updates", "input": req(["editor"], [], "update"), "want": true},
	{"name": "editor may not delete", "input": req(["editor"], [], "delete"), "want": false},
	{"name": "editor may not share", "input": req(["editor"], [], "share"), "want": false},
	{"name": "editor may not audit", "input": req(["editor"], [], "audit"), "want": false},
	{"name": "admin reads through editor and viewer", "input": req(["admin"], [], "read"), "want": true},
	{"name": "admin updates through editor", "input": req(["admin"], [], "update"), "want": true},
	{"name": "admin deletes", "input": req(["admin"], [], "delete"), "want": true},
	{"name": "admin shares", "input": req(["admin"], [], "share"), "want": true},
	{"name": "admin may not audit", "input": req(["admin"], [], "audit"), "want": false},
	{"name": "auditor reads", "input": req(["auditor"], [], "read"), "want": true},
	{"name": "auditor audits", "input": req(["auditor"], [], "audit"), "want": true},
	{"name": "auditor may not update", "input": req(["auditor"], [], "update"), "want": false},
	{"name": "viewer and auditor audit", "input": req(["viewer", "auditor"], [], "audit"), "want": true},
	{"name": "unknown role grants nothing", "input": req(["root"], [], "read"), "want": false},
	{"name": "no roles grant nothing", "input": req([], [], "read"), "want": false},
	{"name": "roles as a space-separated string", "input": req("viewer editor", [], "update"), "want": true},
	{"name": "non-string roles are ignored", "input": req([1, {"r": "admin"}], [], "read"), "want": false},
	{"name": "roles of the wrong type grant nothing", "input": req(5, [], "read"), "want": false},
	{"name": "matching scope", "input": req(["editor"], ["document:update"], "update"), "want": true},
	{"name": "wildcard scope", "input": req(["editor"], ["document:*"], "update"), "want": true},
	{"name": "scope for another action", "input": req(["editor"], ["document:read"], "update"), "want": false},
	{"name": "scope for another type", "input": req(["editor"], ["project:update"], "update"), "want": false},
	{"name": "wildcard for another type", "input": req(["editor"], ["project:*"], "update"), "want": false},
	{"name": "empty scopes do not narrow", "input": req(["editor"], [], "update"), "want": true},
	{"name": "scopes as a space-separated string", "input": req(["editor"], "document:read document:update", "update"), "want": true},
	{"name": "scopes string without the scope", "input": req(["editor"], "document:read", "update"), "want": false},
	{"name": "scopes neither a list nor a string do not narrow", "input": req(["editor"], 7, "update"), "want": true},
	{"name": "scope without a granting role", "input": req(["editor"], ["document:delete"], "delete"), "want": false},
	{
		"name": "missing scopes do not narrow",
		"input": {"subject": {"id": "alice", "properties": {"roles": ["editor"]}}, "action": {"name": "update"}, "resource": {"type": "document"}},
		"want": true,
	},
	{
		"name": "action as a bare string",
		"input": {"subject": {"properties": {"roles": ["viewer"]}}, "action": "read", "resource": {"type": "document"}},
		"want": true,
	},
	{
		"name": "missing action",
		"input": {"subject": {"properties": {"roles": ["admin"]}}, "resource": {"type": "document"}},
		"want": false,
	},
	{
		"name": "empty action name",
		"input": {"subject": {"properties": {"roles": ["admin"]}}, "action": {"name": ""}, "resource": {"type": "document"}},
		"want": false,
	},
	{
		"name": "missing resource type",
		"input": {"subject": {"properties": {"roles": ["admin"]}}, "action": {"name": "read"}},
		"want": false,
	},
	{"name": "empty input", "input": {}, "want": false},
]

test_allow if {
	got := {c.name: v | some c in allow_cases; v := rbac.allow with input as c.input}
	f := failed(allow_cases, got)
	print("failed:", f)
	count(f) == 0
}

reason_cases := [
	{
		"name": "allow names the granting role",
		"input": req(["editor"], [], "read"),
		"want": {"allow": {"rbac: role editor grants read on document"}, "deny": set()},
	},
	{
		"name": "allow names every granting role",
		"input": req(["viewer", "auditor", "editor"], ["document:read"], "read"),
		"want": {
			"allow": {
				"rbac: role auditor grants read on document",
				"rbac: role editor grants read on document",
				"rbac: role viewer grants read on document",
			},
			"deny": set(),
		},
	},
	{
		"name": "no granting role",
		"input": req(["viewer"], [], "update"),
		"want": {"allow": set(), "deny": {"rbac: no role of alice grants update on document"}},
	},
	{
		"name": "missing scope",
		"input": req(["editor"], ["document:read"], "update"),
		"want": {"allow": set(), "deny": {"rbac: token scopes do not include document:update"}},
	},
	{
		"name": "no role and no scope",
		"input": req(["viewer"], ["project:*"], "delete"),
		"want": {"allow": set(), "deny": {
			"rbac: no role of alice grants delete on document",
			"rbac: token scopes do not include document:delete",
		}},
	},
	{
		"name": "anonymous subject",
		"input": {"action": {"name": "read"}, "resource": {"type": "project"}},
		"want": {"allow": set(), "deny": {"rbac: no role of anonymous grants read on project"}},
	},
	{
		"name": "empty input",
		"input": {},
		"want": {"allow": set(), "deny": {"rbac: request names no action", "rbac: request names no resource type"}},
	},
]

test_reasons if {
	got := {c.name: v |
		some c in reason_cases
		a := rbac.allow_reasons with input as c.input
		d := rbac.deny_reasons with input as c.input
		v := {"allow": a, "deny": d}
	}
	f := failed(reason_cases, got)
	print("failed:", f)
	count(f) == 0
}

role_cases := [
	{"name": "viewer", "input": req(["viewer"], [], "read"), "want": {"roles": {"viewer"}, "permissions": {"read"}}},
	{"name": "editor", "input": req(["editor"], [], "read"), "want": {"roles": {"editor", "viewer"}, "permissions": {"read", "create", "update"}}},
	{"name": "admin", "input": req(["admin"], [], "read"), "want": {
		"roles": {"admin", "editor", "viewer"},
		"permissions": {"read", "create", "update", "delete", "share"},
	}},
	{"name": "auditor", "input": req(["auditor"], [], "read"), "want": {"roles": {"auditor"}, "permissions": {"read", "audit"}}},
	{"name": "unknown", "input": req(["root"], [], "read"), "want": {"roles": set(), "permissions": set()}},
	{"name": "none", "input": {}, "want": {"roles": set(), "permissions": set()}},
]

test_effective_roles_and_permissions if {
	got := {c.name: v |
		some c in role_cases
		r := rbac.effective_roles with input as c.input
		p := rbac.permissions with input as c.input
		v := {"roles": r, "permissions": p}
	}
	f := failed(role_cases, got)
	print("failed:", f)
	count(f) == 0
}

test_inheritance_is_transitive_over_data if {
	roles := {
		"reader": {"permissions": ["read"]},
		"writer": {"permissions": ["update"], "inherits": ["reader"]},
		"owner": {"permissions": ["delete"], "inherits": ["writer"]},
		"boss": {"permissions": [], "inherits": ["owner"]},
	}
	rbac.allow with input as req(["boss"], [], "read") with data.verdict.config.roles as roles
	not rbac.allow with input as req(["reader"], [], "update") with data.verdict.config.roles as roles
}

test_scope_type_prefix_from_data if {
	scopes := {"format": "%s.%s", "wildcard": "all", "type_prefixes": {"document": "docs"}}
	rbac.allow with input as req(["editor"], ["docs.update"], "update") with data.verdict.config.scopes as scopes
	rbac.allow with input as req(["editor"], ["docs.all"], "update") with data.verdict.config.scopes as scopes
	not rbac.allow with input as req(["editor"], ["document:update"], "update") with data.verdict.config.scopes as scopes
}

# scoped_roles grant approve on invoices only (finance directly, controller
# through inheritance) next to the global grants of the built-in roles.
scoped_roles := object.union(data.verdict.config.roles, {
	"finance": {"permissions": ["read"], "resources": {"invoice": ["approve"]}},
	"controller": {"permissions": [], "inherits": ["finance"]},
	"chief": {"permissions": [], "inherits": ["controller"]},
})

typed(roles, action, type) := {
	"subject": {"type": "user", "id": "alice", "properties": {"roles": roles}},
	"action": {"name": action},
	"resource": {"type": type, "id": "x-1"},
}

scoped_cases := [
	{"name": "finance approves an invoice", "input": typed(["finance"], "approve", "invoice"), "want": true},
	{"name": "finance may not approve a document", "input": typed(["finance"], "approve", "document"), "want": false},
	{"name": "global grant holds on an invoice", "input": typed(["finance"], "read", "invoice"), "want": true},
	{"name": "global grant holds on a document", "input": typed(["finance"], "read", "document"), "want": true},
	{"name": "scoped grant one step inherited", "input": typed(["controller"], "approve", "invoice"), "want": true},
	{"name": "scoped grant two steps inherited", "input": typed(["chief"], "approve", "invoice"), "want": true},
	{"name": "inherited scoped grant stays scoped", "input": typed(["chief"], "approve", "project"), "want": false},
	{"name": "admin may not approve an invoice", "input": typed(["admin"], "approve", "invoice"), "want": false},
	{"name": "editor updates an invoice by a global grant", "input": typed(["editor"], "update", "invoice"), "want": true},
]

test_permissions_scoped_to_a_resource_type if {
	got := {c.name: v | some c in scoped_cases; v := rbac.allow with input as c.input with data.verdict.config.roles as scoped_roles}
	f := failed(scoped_cases, got)
	print("failed:", f)
	count(f) == 0
}

test_permissions_include_the_scoped_grants_of_the_type if {
	rbac.permissions == {"read", "approve"} with input as typed(["finance"], "read", "invoice") with data.verdict.config.roles as scoped_roles
	rbac.permissions == {"read"} with input as typed(["finance"], "read", "document") with data.verdict.config.roles as scoped_roles
}

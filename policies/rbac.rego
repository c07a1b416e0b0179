# Package verdict.rbac decides which actions a subject's roles grant.
#
# Roles and their inheritance live in data.verdict.config.roles; effective
# permissions follow inheritance transitively. When the subject carries OAuth
# scopes, they narrow the roles: the action also needs the scope
# "<resource type>:<action>" or "<resource type>:*" (format in
# data.verdict.config.scopes). A subject without scopes is not narrowed.
#
# This package also normalises the request parts the other packages share:
# action, resource_type, subject_id, roles and effective_roles.
#
# Performance (docs/performance.md): a decision evaluates allow and
# allow_reasons, or deny_reasons. Every reference to a rule costs the evaluator
# a lookup even when the value is cached, so bodies read a rule or a data
# document once into a local, else chains stop at the first branch that holds,
# reason strings are built only for the reasons given, and inheritance is
# followed only from the roles the subject holds.
package verdict.rbac

# action is the requested action name; a bare string action is accepted too.
action := name if {
	name := input.action.name
	is_string(name)
	name != ""
} else := name if {
	name := input.action
	is_string(name)
	name != ""
}

# resource_type is the requested resource type; undefined when missing.
resource_type := t if {
	t := input.resource.type
	is_string(t)
	t != ""
}

# subject_id names the subject in reasons; it never grants anything.
subject_id := id if {
	id := input.subject.id
	is_string(id)
	id != ""
} else := "anonymous"

# roles are the roles the subject holds directly: the strings of an array, or
# the words of a space-separated string. Anything else holds no role.
roles := {r | some r in x; is_string(r)} if {
	x := input.subject.properties.roles
	not is_string(x)
} else := {r | some r in split(input.subject.properties.roles, " "); r != ""}

# scopes are the subject's OAuth scopes, read like roles.
scopes := {s | some s in x; is_string(s)} if {
	x := input.subject.properties.scopes
	not is_string(x)
} else := {s | some s in split(input.subject.properties.scopes, " "); s != ""}

# role_graph maps each role to the roles it inherits from.
role_graph := {name: object.get(def, "inherits", []) | some name, def in data.verdict.config.roles}

# effective_roles are the held roles plus every role they inherit, transitively.
effective_roles := graph.reachable(role_graph, roles)

# permissions are the actions the effective roles grant, before scope narrowing.
permissions contains p if {
	defs := data.verdict.config.roles
	some r in effective_roles
	some p in defs[r].permissions
}

# grants holds when role, or a role it inherits, grants act. The last
# branch alone is the definition; the first two settle a direct grant and a
# grant one inheritance step away without building role_graph, and a role
# that inherits nothing never needs it.
grants(role, act) if {
	act in data.verdict.config.roles[role].permissions
} else if {
	defs := data.verdict.config.roles
	parents := defs[role].inherits
	is_array(parents)
	some parent in parents
	act in defs[parent].permissions
} else if {
	defs := data.verdict.config.roles
	count(defs[role].inherits) > 0
	some r in graph.reachable(role_graph, {role})
	act in defs[r].permissions
}

# granting_roles are the held roles that grant the requested action.
granting_roles := {role | some role in roles; grants(role, a)} if {
	a := action
} else := set()

# scope returns the scope that names suffix ("read", "*") on the requested
# resource type, in the configured format.
scope(suffix) := sprintf(conf.format, [object.get(conf.type_prefixes, t, t), suffix]) if {
	conf := data.verdict.config.scopes
	t := resource_type
}

# required_scope is the exact scope the request needs when scopes narrow roles.
required_scope := scope(action)

# scope_ok holds when the subject's scopes, if any, admit the request: the
# exact scope, else the wildcard.
scope_ok if {
	scopes == set()
} else if {
	required_scope in scopes
} else if {
	scope(data.verdict.config.scopes.wildcard) in scopes
}

default allow := false

allow if {
	resource_type
	granting_roles != set()
	scope_ok
}

allow_reasons contains sprintf("rbac: role %s grants %s on %s", [role, a, t]) if {
	allow
	a := action
	t := resource_type
	some role in granting_roles
}

deny_reasons contains "rbac: request names no action" if not action

deny_reasons contains "rbac: request names no resource type" if not resource_type

deny_reasons contains msg if {
	granting_roles == set()
	msg := sprintf("rbac: no role of %s grants %s on %s", [subject_id, action, resource_type])
}

deny_reasons contains msg if {
	not scope_ok
	msg := sprintf("rbac: token scopes do not include %s", [required_scope])
}

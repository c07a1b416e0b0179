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
# Performance: a decision evaluates allow and allow_reasons (or deny_reasons).
# Both read granting_roles, which is computed once per query and only follows
# the inheritance of the roles the subject holds; the permission sets of
# effective_roles are built only where a test or a rule asks for them.
package verdict.rbac

roles_config := data.verdict.config.roles

scopes_config := data.verdict.config.scopes

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

# roles are the roles the subject holds directly.
default roles := set()

roles := to_set(input.subject.properties.roles)

# scopes are the subject's OAuth scopes (an array, or a space-separated string).
default scopes := set()

scopes := to_set(input.subject.properties.scopes)

# to_set turns an array of strings, or a space-separated string, into a set.
to_set(x) := {s | some s in split(x, " "); s != ""} if {
	is_string(x)
} else := {s | some s in x; is_string(s)}

# role_graph maps each role to the roles it inherits from.
role_graph := {name: object.get(def, "inherits", []) | some name, def in roles_config}

# effective_roles are the held roles plus every role they inherit, transitively.
effective_roles := graph.reachable(role_graph, roles)

# permissions are the actions the effective roles grant, before scope narrowing.
permissions contains p if {
	some r in effective_roles
	some p in roles_config[r].permissions
}

# grants holds when role, or a role it inherits, grants the requested action.
# Memberships are tested where they are, without building permission sets.
grants(role) if {
	some r in graph.reachable(role_graph, {role})
	action in roles_config[r].permissions
}

# granting_roles are the held roles that grant the requested action.
granting_roles := {role | some role in roles; grants(role)}

scoped := count(scopes) > 0

scope_prefix := object.get(scopes_config.type_prefixes, resource_type, resource_type)

# required_scope is the exact scope the request needs when scopes narrow roles.
required_scope := sprintf(scopes_config.format, [scope_prefix, action])

wildcard_scope := sprintf(scopes_config.format, [scope_prefix, scopes_config.wildcard])

# scope_ok builds the scope strings only for a subject whose scopes narrow its roles.
scope_ok if not scoped

scope_ok if required_scope in scopes

scope_ok if wildcard_scope in scopes

default allow := false

allow if {
	resource_type
	count(granting_roles) > 0
	scope_ok
}

allow_reasons contains sprintf("rbac: role %s grants %s on %s", [role, action, resource_type]) if {
	allow
	some role in granting_roles
}

deny_reasons contains "rbac: request names no action" if not action

deny_reasons contains "rbac: request names no resource type" if not resource_type

deny_reasons contains msg if {
	count(granting_roles) == 0
	msg := sprintf("rbac: no role of %s grants %s on %s", [subject_id, action, resource_type])
}

deny_reasons contains msg if {
	not scope_ok
	msg := sprintf("rbac: token scopes do not include %s", [required_scope])
}

# Package verdict.rbac decides which actions a subject's roles grant.
#
# Roles and their inheritance live in data.verdict.config.roles: a role grants
# its permissions on every resource type, and its resources[<type>] on that
# type only; effective permissions follow inheritance transitively, scoped
# grants staying scoped. When the subject carries OAuth
# scopes, they narrow the roles: the action also needs the scope
# "<resource type>:<action>" or "<resource type>:*" (format in
# data.verdict.config.scopes). A subject without scopes is not narrowed.
#
# This package also normalises the request parts the other packages share:
# action, resource_type, subject_id, role_list, roles and effective_roles
# (resource type modules read them too: docs/policies.md).
#
# Performance (docs/performance.md): a decision evaluates allow and
# allow_reasons, or deny_reasons. Every reference to a rule and every read of a
# data document costs the evaluator a lookup and allocations even when cached,
# so bodies read a rule or a data document once into a local, else chains stop
# at the first branch that holds, reason strings are built only for the
# reasons given, roles and scopes are looked up in the list the subject
# carries instead of a set built from it, inheritance is followed only from
# the roles the subject holds, and scope_ok builds the scopes it looks for in
# its own body rather than calling scope (what required_scope, which only a deny
# reason reads, does).
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

# role_list is the subject's roles as given: an array of them, or the words of
# a space-separated string. Anything else holds no role. Entries that are not
# strings name no role; iterating the list in place spares building a set. The
# array, the common form, is tried first, so it is settled by one branch.
role_list := x if {
	x := input.subject.properties.roles
	is_array(x)
} else := [r | some r in split(x, " "); r != ""] if {
	x := input.subject.properties.roles
	is_string(x)
} else := input.subject.properties.roles

# roles are the role names the subject holds directly.
roles := {r | some r in role_list; is_string(r)}

# scope_list is the subject's OAuth scopes, read like role_list.
scope_list := x if {
	x := input.subject.properties.scopes
	is_array(x)
} else := [s | some s in split(x, " "); s != ""] if {
	x := input.subject.properties.scopes
	is_string(x)
} else := input.subject.properties.scopes

# role_graph maps each role to the roles it inherits from.
role_graph := {name: object.get(def, "inherits", []) | some name, def in data.verdict.config.roles}

# effective_roles are the held roles plus every role they inherit, transitively.
effective_roles := graph.reachable(role_graph, roles)

# permissions are the actions the effective roles grant on the requested
# resource type, before scope narrowing: their global permissions and their
# permissions scoped to the type.
permissions contains p if {
	defs := data.verdict.config.roles
	some r in effective_roles
	some p in defs[r].permissions
}

permissions contains p if {
	defs := data.verdict.config.roles
	t := resource_type
	some r in effective_roles
	some p in defs[r].resources[t]
}

# grants_here holds when the role definition def itself grants act on
# resource type t: in its global permissions, or in those scoped to t
# (def.resources[t]).
grants_here(def, t, act) if {
	act in def.permissions
} else if {
	act in def.resources[t]
}

# grants holds when role, or a role it inherits, grants act on resource type
# t; defs are the role definitions. The last branch alone is the definition;
# the first four settle a direct grant and a grant one inheritance step away
# without building role_graph or calling grants_here (each call costs), the
# fifth a grant two steps away (admin from viewer in the default roles), and a
# role that inherits nothing never needs them. role_graph is built from every
# role, so only a deny or a deeper hierarchy pays for it.
grants(defs, role, t, act) if {
	act in defs[role].permissions
} else if {
	parents := defs[role].inherits
	is_array(parents)
	some parent in parents
	act in defs[parent].permissions
} else if {
	act in defs[role].resources[t]
} else if {
	parents := defs[role].inherits
	is_array(parents)
	some parent in parents
	act in defs[parent].resources[t]
} else if {
	parents := defs[role].inherits
	is_array(parents)
	some parent in parents
	grandparents := defs[parent].inherits
	is_array(grandparents)
	some grandparent in grandparents
	grants_here(defs[grandparent], t, act)
} else if {
	count(defs[role].inherits) > 0
	some r in graph.reachable(role_graph, {role})
	grants_here(defs[r], t, act)
}

# granting_roles are the held roles that grant the requested action on the
# requested resource type.
granting_roles contains role if {
	a := action
	t := resource_type
	defs := data.verdict.config.roles
	some role in role_list
	grants(defs, role, t, a)
}

# scope returns the scope that names suffix ("read", "*") on the requested
# resource type, in the configured format. scope_ok builds the same two scopes
# in its body: two calls of scope cost it 23 allocations more a decision
# (docs/performance.md); keep the two in step.
scope(suffix) := sprintf(conf.format, [object.get(conf.type_prefixes, t, t), suffix]) if {
	conf := data.verdict.config.scopes
	t := resource_type
}

# required_scope is the exact scope the request needs when scopes narrow roles.
required_scope := scope(action)

# scope_ok holds when the subject's scopes, if any, admit the request: the
# exact scope or the wildcard. It builds them as scope does, in its own body,
# the type's prefix looked up once.
scope_ok if {
	narrowed == false
} else if {
	conf := data.verdict.config.scopes
	t := resource_type
	prefix := object.get(conf.type_prefixes, t, t)
	some suffix in [action, conf.wildcard]
	sprintf(conf.format, [prefix, suffix]) in scope_list
}

# narrowed holds when the subject carries at least one scope. scope_ok compares
# it with its false default rather than negating it (a negation is an
# evaluation of its own).
default narrowed := false

narrowed if {
	some s in scope_list
	is_string(s)
}

default allow := false

allow if {
	resource_type
	count(granting_roles) > 0
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
	count(granting_roles) == 0
	msg := sprintf("rbac: no role of %s grants %s on %s", [subject_id, action, resource_type])
}

deny_reasons contains msg if {
	not scope_ok
	msg := sprintf("rbac: token scopes do not include %s", [required_scope])
}

package verdict.authz_test

import data.verdict.authz

# now is 2026-11-22T10:00:00Z, inside business hours.
now := 1795341600

mfa := {"amr": ["pwd", "otp"], "auth_time": now - 60}

pwd := {"amr": ["pwd"], "auth_time": now - 60}

# user returns the subject properties of a user of tenant acme.
user(roles, auth) := object.union({"roles": roles, "tenant": "acme"}, auth)

doc(id, owner, classification) := {"type": "document", "id": id, "properties": {
	"tenant": "acme", "owner": owner,
	"classification": classification,
}}

doc1 := doc("doc-1", "alice", "internal")

# req builds a request at 10:00 UTC with extra context signals.
req(id, props, action, resource, ctx) := {
	"subject": {"type": "user", "id": id, "properties": props},
	"action": {"name": action, "properties": {}},
	"resource": resource,
	"context": object.union({"time": "2026-11-22T10:00:00Z", "ip": "203.0.113.7"}, ctx),
}

step_up := {"type": "step_up", "acr_values": ["urn:verdict:mfa"], "max_age": 300}

step_up_msg(score, signals, action, label) := sprintf(
	"risk: score %d is medium (%s) and %s on %s needs fresh multi-factor authentication",
	[score, signals, action, label],
)

failed(cases, got) := {c.name | some c in cases} - {c.name | some c in cases; got[c.name] == c.want}

# decision_cases compare only the decision members named in want.
decision_cases := [
	{
		"name": "editor reads an internal document",
		"input": req("alice", user(["editor"], mfa), "read", doc1, {}),
		"want": {
			"allow": true, "reasons": ["rbac: role editor grants read on document"], "obligations": [],
			"risk": {"score": 0, "level": "low", "signals": []},
		},
	},
	{
		"name": "editor updates own document",
		"input": req("alice", user(["editor"], mfa), "update", doc1, {}),
		"want": {"allow": true, "reasons": ["rbac: role editor grants update on document"]},
	},
	{
		"name": "viewer may not update",
		"input": req("bob", user(["viewer"], mfa), "update", doc1, {}),
		"want": {"allow": false, "obligations": [], "reasons": [
			"abac: bob does not own document doc-1; update needs ownership or role admin",
			"rbac: no role of bob grants update on document",
		]},
	},
	{
		"name": "scope narrows the editor",
		"input": req("alice", user(["editor"], object.union(mfa, {"scopes": ["document:read"]})), "update", doc1, {}),
		"want": {"allow": false, "reasons": ["rbac: token scopes do not include document:update"]},
	},
	{
		"name": "cross-tenant read",
		"input": req("alice", object.union(user(["editor"], mfa), {"tenant": "globex"}), "read", doc1, {}),
		"want": {"allow": false, "reasons": ["abac: subject tenant globex does not match tenant acme of document doc-1"]},
	},
	{
		"name": "clearance below classification",
		"input": req("alice", user(["editor"], mfa), "read", doc("doc-2", "carol", "confidential"), {}),
		"want": {"allow": false, "reasons": ["abac: clearance internal of alice is below classification confidential of document doc-2"]},
	},
	{
		"name": "low risk without mfa reads",
		"input": req("alice", user(["editor"], pwd), "read", doc1, {}),
		"want": {"allow": true, "risk": {"score": 25, "level": "low", "signals": ["no_mfa"]}},
	},
	{
		"name": "high risk denies",
		"input": req("alice", user(["editor"], mfa), "read", doc1, {"ip_reputation": "bad"}),
		"want": {
			"allow": false, "obligations": [], "reasons": ["risk: score 70 is high (ip_bad)"],
			"risk": {"score": 70, "level": "high", "signals": ["ip_bad"]},
		},
	},
	{
		"name": "impossible travel denies",
		"input": req("alice", user(["editor"], mfa), "read", doc1, {"geo_velocity_kmh": 4000}),
		"want": {"allow": false, "reasons": ["risk: score 70 is high (impossible_travel)"]},
	},
	{
		"name": "high risk still reads public",
		"input": req("alice", user(["editor"], mfa), "read", doc("doc-3", "bob", "public"), {"ip_reputation": "bad"}),
		"want": {"allow": true, "obligations": [], "reasons": [
			"rbac: role editor grants read on document",
			"risk: score 70 is high (ip_bad) but read on document doc-3 is exempt",
		]},
	},
	{
		"name": "high risk may not update public",
		"input": req("alice", user(["editor"], mfa), "update", doc("doc-3", "alice", "public"), {"ip_reputation": "bad"}),
		"want": {"allow": false, "reasons": ["risk: score 70 is high (ip_bad)"]},
	},
	{
		"name": "high risk reads public but rbac denies",
		"input": req("alice", user([], mfa), "read", doc("doc-3", "bob", "public"), {"ip_reputation": "bad"}),
		"want": {"allow": false, "reasons": ["rbac: no role of alice grants read on document"]},
	},
	{
		"name": "medium risk reads internal",
		"input": req("alice", user(["editor"], pwd), "read", doc1, {"new_device": true}),
		"want": {"allow": true, "obligations": [], "risk": {"score": 45, "level": "medium", "signals": ["new_device", "no_mfa"]}},
	},
	{
		"name": "medium risk delete needs step-up",
		"input": req("carol", user(["admin"], pwd), "delete", doc1, {"new_device": true}),
		"want": {
			"allow": false, "obligations": [step_up],
			"reasons": [step_up_msg(45, "new_device, no_mfa", "delete", "document doc-1")],
		},
	},
	{
		"name": "medium risk share needs step-up",
		"input": req("carol", user(["admin"], pwd), "share", doc1, {"new_device": true}),
		"want": {"allow": false, "obligations": [step_up]},
	},
	{
		"name": "fresh mfa satisfies step-up for delete",
		"input": req("carol", user(["admin"], mfa), "delete", doc1, {"new_device": true, "ip_reputation": "suspicious"}),
		"want": {
			"allow": true, "obligations": [], "reasons": ["rbac: role admin grants delete on document"],
			"risk": {"score": 55, "level": "medium", "signals": ["ip_suspicious", "new_device"]},
		},
	},
	{
		"name": "step-up acr satisfies step-up",
		"input": req("carol", user(["admin"], {"acr": "urn:verdict:mfa", "auth_time": now - 30}), "delete", doc1, {"ip_reputation": "suspicious"}),
		"want": {"allow": true, "obligations": []},
	},
	{
		"name": "mfa an hour ago does not satisfy step-up",
		"input": req("carol", user(["admin"], {"amr": ["otp"], "auth_time": now - 3600}), "delete", doc1, {"ip_reputation": "suspicious"}),
		"want": {"allow": false, "obligations": [step_up], "reasons": [step_up_msg(35, "ip_suspicious", "delete", "document doc-1")]},
	},
	{
		"name": "mfa without auth_time never satisfies step-up",
		"input": req("carol", user(["admin"], {"amr": ["otp"]}), "delete", doc1, {"ip_reputation": "suspicious"}),
		"want": {"allow": false, "obligations": [step_up], "reasons": [step_up_msg(50, "ip_suspicious, stale_auth", "delete", "document doc-1")]},
	},
	{
		"name": "medium risk on a confidential read needs step-up",
		"input": req(
			"carol", object.union(user(["admin"], pwd), {"clearance": "confidential"}), "read",
			doc("doc-2", "carol", "confidential"), {"new_device": true},
		),
		"want": {"allow": false, "obligations": [step_up], "reasons": [step_up_msg(45, "new_device, no_mfa", "read", "document doc-2")]},
	},
	{
		"name": "fresh mfa satisfies step-up for a confidential read",
		"input": req(
			"carol", object.union(user(["admin"], mfa), {"clearance": "confidential"}), "read",
			doc("doc-2", "carol", "confidential"), {"ip_reputation": "suspicious"},
		),
		"want": {"allow": true, "obligations": []},
	},
	{
		"name": "step-up is not offered when rbac denies anyway",
		"input": req("alice", user(["editor"], pwd), "delete", doc1, {"new_device": true}),
		"want": {"allow": false, "obligations": [], "reasons": [
			"rbac: no role of alice grants delete on document",
			step_up_msg(45, "new_device, no_mfa", "delete", "document doc-1"),
		]},
	},
	{
		"name": "low risk delete needs no step-up",
		"input": req("carol", user(["admin"], pwd), "delete", doc1, {}),
		"want": {"allow": true, "obligations": []},
	},
	{
		"name": "auditor audits",
		"input": req("dave", user(["auditor"], mfa), "audit", doc1, {}),
		"want": {"allow": true, "reasons": ["rbac: role auditor grants audit on document"]},
	},
	{
		"name": "empty input",
		"input": {},
		"want": {"allow": false, "obligations": [], "reasons": [
			"abac: resource has no tenant",
			"abac: subject has no tenant",
			"rbac: request names no action",
			"rbac: request names no resource type",
		]},
	},
	{
		"name": "input that is not an object",
		"input": "read everything",
		"want": {"allow": false, "obligations": []},
	},
	{
		"name": "members of the wrong types",
		"input": {
			"subject": {"id": 7, "properties": {"roles": "admin", "tenant": ["acme"], "amr": 1, "auth_time": "x"}},
			"action": {"name": 5}, "resource": [], "context": {"time": 5, "new_device": "yes"},
		},
		"want": {"allow": false, "obligations": []},
	},
]

test_decision if {
	got := {c.name: v |
		some c in decision_cases
		d := authz.decision with input as c.input
		v := object.filter(d, object.keys(c.want))
	}
	f := failed(decision_cases, got)
	print("failed:", f)
	count(f) == 0
}

test_every_deny_has_a_prefixed_reason if {
	denies := [d |
		some c in decision_cases
		d := authz.decision with input as c.input
		d.allow == false
	]
	count(denies) > 0
	every d in denies {
		count(d.reasons) > 0
		every r in d.reasons {
			regex.match(`^(rbac|abac|risk|authz): `, r)
		}
	}
}

test_every_decision_has_the_contract_shape if {
	every c in decision_cases {
		d := authz.decision with input as c.input
		object.keys(d) == {"allow", "reasons", "obligations", "risk"}
		is_boolean(d.allow)
		is_array(d.reasons)
		d.reasons == sort(d.reasons)
		is_array(d.obligations)
		object.keys(d.risk) == {"score", "level", "signals"}
		d.risk.level in {"low", "medium", "high"}
	}
}

test_deny_without_reasons_gets_a_default_reason if {
	d := authz.decision with input as req("alice", user(["editor"], mfa), "read", doc1, {})
		with data.verdict.rbac.allow as false
		with data.verdict.rbac.deny_reasons as set()
	d.allow == false
	d.reasons == ["authz: no rule allowed the request; denied by default"]
}

test_step_up_values_from_data if {
	conf := {"acr_values": ["urn:example:loa3"], "max_age": 60}
	d := authz.decision with input as req("carol", user(["admin"], pwd), "delete", doc1, {"new_device": true})
		with data.verdict.config.step_up as conf
	d.obligations == [{"type": "step_up", "acr_values": ["urn:example:loa3"], "max_age": 60}]
}

test_sensitive_actions_from_data if {
	d := authz.decision with input as req("carol", user(["admin"], pwd), "delete", doc1, {"new_device": true})
		with data.verdict.config.sensitive as {"actions": ["share"], "classifications": []}
	d.allow == true
}

test_broken_data_falls_back_to_the_default_deny if {
	# A non-numeric weight makes the score undefined; the decision must still be a deny.
	conf := object.union(object.remove(data.verdict.config.risk, ["weights"]), {"weights": {"no_mfa": "high"}})
	d := authz.decision with input as req("alice", user(["editor"], pwd), "read", doc1, {})
		with data.verdict.config.risk as conf
	d.allow == false
	d.reasons == ["authz: no rule produced a decision; denied by default"]
	d.obligations == []
}

routes := data.verdict.routes

search := data.verdict.search

test_routes_are_well_formed if {
	count(routes) > 0
	every r in routes {
		count(r.methods) > 0
		every m in r.methods {
			m in {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}
		}
		startswith(r.path, "/")
		r.action in search.actions
		r.resource_type in object.keys(search.resources)
	}
}

test_routes_are_unique if {
	pairs := [[m, r.path] | some r in routes; some m in r.methods]
	count(pairs) == count({p | some p in pairs})
}

test_routes_cover_every_resource_action if {
	every t in {"document", "project"} {
		{r.action | some r in routes; r.resource_type == t} == {"read", "create", "update", "delete", "share"}
	}
}

test_search_data_is_valid if {
	levels := data.verdict.config.classification.levels
	every u in search.subjects.user {
		every role in u.properties.roles {
			role in object.keys(data.verdict.config.roles)
		}
		u.properties.tenant in {"acme", "globex"}
		u.properties.clearance in levels
	}
	{u.properties.tenant | some u in search.subjects.user} == {"acme", "globex"}
	ids := {u.id | some u in search.subjects.user}
	every _, resources in search.resources {
		every res in resources {
			res.properties.tenant in {"acme", "globex"}
			res.properties.owner in ids
			res.properties.classification in levels
		}
	}
}

# search_req builds a request from the search candidates, as a search endpoint would.
search_req(uid, action, rtype, rid) := {
	"subject": {"type": "user", "id": uid, "properties": object.union(u.properties, mfa)},
	"action": {"name": action},
	"resource": {"type": rtype, "id": rid, "properties": res.properties},
	"context": {"time": "2026-11-22T10:00:00Z"},
} if {
	some u in search.subjects.user
	u.id == uid
	some res in search.resources[rtype]
	res.id == rid
}

search_cases := [
	{"name": "alice reads her document", "input": search_req("alice", "read", "document", "doc-1"), "want": true},
	{"name": "alice may not read confidential doc-2", "input": search_req("alice", "read", "document", "doc-2"), "want": false},
	{"name": "bob reads public doc-3", "input": search_req("bob", "read", "document", "doc-3"), "want": true},
	{"name": "bob may not update doc-1", "input": search_req("bob", "update", "document", "doc-1"), "want": false},
	{"name": "carol deletes doc-1", "input": search_req("carol", "delete", "document", "doc-1"), "want": true},
	{"name": "carol reads confidential doc-2", "input": search_req("carol", "read", "document", "doc-2"), "want": true},
	{"name": "dave may not read acme doc-1", "input": search_req("dave", "read", "document", "doc-1"), "want": false},
	{"name": "dave audits globex doc-4", "input": search_req("dave", "audit", "document", "doc-4"), "want": true},
	{"name": "dave may not update confidential proj-2", "input": search_req("dave", "update", "project", "proj-2"), "want": false},
	{"name": "alice updates her project", "input": search_req("alice", "update", "project", "proj-1"), "want": true},
]

test_search_candidates_decide_sensibly if {
	got := {c.name: v | some c in search_cases; v := authz.decision.allow with input as c.input}
	f := failed(search_cases, got)
	print("failed:", f)
	count(f) == 0
}

# widget is a resource type module as docs/policies.md describes it ("Resource
# type modules"), mocked: it allows only widgets of colour blue, explains
# every other colour and asks for an audit record on an allow.
widget := {
	"allow": false,
	"deny_reasons": {"widget: widget w-1 is not blue"},
	"obligations": {{"type": "audit"}},
}

widget_req(roles) := req("alice", user(roles, mfa), "read", {"type": "widget", "id": "w-1", "properties": {"tenant": "acme"}}, {})

module_cases := [
	{
		"name": "module allows",
		"input": {"roles": ["viewer"], "module": object.union(widget, {"allow": true})},
		"want": {"allow": true, "reasons": ["rbac: role viewer grants read on widget"], "obligations": [{"type": "audit"}]},
	},
	{
		"name": "module objects",
		"input": {"roles": ["viewer"], "module": widget},
		"want": {"allow": false, "reasons": ["widget: widget w-1 is not blue"], "obligations": []},
	},
	{
		"name": "module objects and rbac denies",
		"input": {"roles": [], "module": widget},
		"want": {"allow": false, "reasons": ["rbac: no role of alice grants read on widget", "widget: widget w-1 is not blue"], "obligations": []},
	},
	{
		"name": "module objects without a reason",
		"input": {"roles": ["viewer"], "module": {"allow": false}},
		"want": {"allow": false, "reasons": ["authz: no rule allowed the request; denied by default"], "obligations": []},
	},
	{
		"name": "allow that is not a boolean denies",
		"input": {"roles": ["viewer"], "module": {"allow": "yes"}},
		"want": {"allow": false, "reasons": ["authz: no rule allowed the request; denied by default"], "obligations": []},
	},
	{
		"name": "module whose allow is undefined denies",
		"input": {"roles": ["viewer"], "module": {"deny_reasons": set()}},
		"want": {"allow": false, "reasons": ["authz: no rule allowed the request; denied by default"], "obligations": []},
	},
	{
		"name": "module without obligations",
		"input": {"roles": ["viewer"], "module": {"allow": true}},
		"want": {"allow": true, "reasons": ["rbac: role viewer grants read on widget"], "obligations": []},
	},
	{
		"name": "type without a module has rbac, abac and risk only",
		"input": {"roles": ["viewer"], "module": {}},
		"want": {"allow": true, "reasons": ["rbac: role viewer grants read on widget"], "obligations": []},
	},
]

test_resource_type_module_joins_the_decision if {
	got := {c.name: v |
		some c in module_cases
		d := authz.decision with input as widget_req(c.input.roles) with data.verdict.resources.widget as c.input.module
		v := object.filter(d, object.keys(c.want))
	}
	f := failed(module_cases, got)
	print("failed:", f)
	count(f) == 0
}

test_only_the_requested_type_module_is_read if {
	d := authz.decision with input as req("alice", user(["editor"], mfa), "read", doc1, {})
		with data.verdict.resources.widget as widget
	d.allow == true
}

# The module contract: allow has a default, so that it answers for every input;
# an undefined allow would read as "no module" and add no condition. Test
# packages (verdict.resources.<type>_test) are not modules.
resource_modules := m if {
	m := data.verdict.resources
} else := {}

test_every_resource_module_defaults_allow_to_false if {
	undefaulted := {t |
		some t, _ in resource_modules
		not endswith(t, "_test")
		not data.verdict.resources[t].allow == false with input as {}
	}
	print("resource type modules whose allow is not false by default (default allow := false):", undefaulted)
	count(undefaulted) == 0
}

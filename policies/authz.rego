# Package verdict.authz combines RBAC, ABAC, the resource type's module and
# risk into the decision that Verdict returns (docs/policies.md, "The contract
# with Verdict"). The entrypoint is data.verdict.authz.decision.
#
# A request is allowed only when RBAC allows it, ABAC has no objection, the
# module of its resource type (package verdict.resources.<type>, if there is
# one) allows it and risk does not block it. The module contract
# (docs/policies.md, "Resource type modules"): allow, a boolean with default
# false; deny_reasons, a set of "<type>: ..." strings explaining a false allow;
# obligations, an optional set of objects an allow carries. Only the requested
# type's module is evaluated; a type without a module has no conditions beyond
# RBAC, ABAC and risk. High risk blocks everything but the exempt requests
# (reading public resources by default). Medium risk on a sensitive request (a
# sensitive action or classification) blocks unless the subject shows fresh MFA;
# when stepping up is all that stands between the subject and an allow, the
# decision carries a step_up obligation.
#
# Performance (docs/performance.md): each reference to a rule costs a lookup even
# when its value is cached, so the decision reads risk through one rule
# (risk.summary: score, level and signals together), allow asks blocks about
# that level alone, and reason strings are built only for the reasons given.
package verdict.authz

import data.verdict.abac
import data.verdict.rbac
import data.verdict.risk

# decision is always an object; the default guards against any undefined part.
default decision := {
	"allow": false,
	"reasons": ["authz: no rule produced a decision; denied by default"],
	"obligations": [],
	"risk": {"score": 0, "level": "low", "signals": []},
}

# decision explains an allow by the granting roles (and by the exemption from
# high risk, if any); an allow carries no obligation, since step-up is asked
# for only when it blocks. A deny is explained by every broken rule, with
# step-up asked for when it alone stands in the way. RBAC and ABAC allow
# exactly when they have no reason to give, so when both allow, only risk is
# asked for reasons.
decision := {
	"allow": true,
	"reasons": sort(rbac.allow_reasons | risk_notes),
	"obligations": type_obligations,
	"risk": risk.summary,
} if {
	allow
} else := {
	"allow": false,
	"reasons": explain(risk_deny_reasons),
	"obligations": obligations,
	"risk": risk.summary,
} if {
	rbac.allow
	abac.allow
	type_allow == true
} else := {
	"allow": false,
	"reasons": explain(deny_reasons),
	"obligations": obligations,
	"risk": risk.summary,
}

default allow := false

allow if {
	rbac.allow
	abac.allow
	type_allow == true
	not blocks(risk.summary.level)
}

# type_allow is the allow of the requested resource type's module, and true
# when the type has no module; anything but true denies. A module defines
# deny_reasons (a partial set, so defined even when empty): a module whose
# allow is undefined, because it lacks the contract's default allow := false,
# denies (test_every_resource_module_defaults_allow_to_false reports it).
type_allow := a if {
	a := data.verdict.resources[input.resource.type].allow
} else := false if {
	data.verdict.resources[input.resource.type].deny_reasons
} else := true

# type_deny_reasons are the objections of the requested type's module.
type_deny_reasons := r if {
	r := data.verdict.resources[input.resource.type].deny_reasons
} else := set()

# type_obligations are the obligations an allow carries: those of the requested
# type's module, sorted; none when it has none.
type_obligations := sort(o) if {
	o := data.verdict.resources[input.resource.type].obligations
} else := []

# blocks holds when risk at level blocks a request that RBAC and ABAC allow:
# high risk unless the request is exempt, medium risk when step-up is required.
# Low risk never blocks: no definition matches it.
blocks("high") if not high_risk_exempt

blocks("medium") if step_up_required

high_risk_exempt if {
	rbac.action in data.verdict.config.high_risk_exempt.actions
	abac.resource_classification in data.verdict.config.high_risk_exempt.classifications
}

sensitive if {
	rbac.action in data.verdict.config.sensitive.actions
} else if {
	abac.resource_classification in data.verdict.config.sensitive.classifications
}

default step_up_required := false

step_up_required if {
	risk.summary.level == "medium"
	sensitive
	not risk.fresh_mfa
}

signal_list := concat(", ", risk.summary.signals)

risk_deny_reasons contains msg if {
	risk.summary.level == "high"
	not high_risk_exempt
	msg := sprintf("risk: score %v is high (%s)", [risk.summary.score, signal_list])
}

risk_deny_reasons contains msg if {
	step_up_required
	msg := sprintf("risk: score %v is medium (%s) and %s on %s needs fresh multi-factor authentication", [
		risk.summary.score, signal_list, rbac.action, abac.resource_label,
	])
}

# risk_notes explain why high risk did not block an allowed request; decision
# reads them for allowed requests only.
risk_notes contains msg if {
	risk.summary.level == "high"
	msg := sprintf("risk: score %v is high (%s) but %s on %s is exempt", [
		risk.summary.score, signal_list, rbac.action, abac.resource_label,
	])
}

deny_reasons := ((rbac.deny_reasons | abac.deny_reasons) | type_deny_reasons) | risk_deny_reasons

# explain lists reasons for a deny, sorted, or says that nothing allowed it.
explain(reasons) := sort(reasons) if {
	count(reasons) > 0
} else := ["authz: no rule allowed the request; denied by default"]

step_up_obligation := {
	"type": "step_up",
	"acr_values": conf.acr_values,
	"max_age": conf.max_age,
} if {
	conf := data.verdict.config.step_up
}

# obligations of a deny ask for step-up only when it alone blocks the request:
# a subject who steps up and is still denied by RBAC or ABAC would be sent round
# the identity provider for nothing (and forward-auth answers 401 for step-up
# but 403 for a plain deny).
obligations := [step_up_obligation] if {
	step_up_required
	rbac.allow
	abac.allow
	type_allow == true
} else := []

# Package bench.authz is the small policy `make bench-load` measures Verdict and OPA with:
# RBAC (role to permissions, from data), tenant isolation (ABAC) and a small risk score
# (new device, IP reputation from data, MFA from amr). It reads the subject from
# input.subject as Verdict builds it; OPA's run wraps it in tests/benchload/opa, which
# verifies the token and builds the same subject.
package bench.authz

cfg := data.bench.config

# permitted holds when one of the subject's roles grants the action.
permitted if {
	some role in input.subject.properties.roles
	input.action.name in cfg.roles[role]
}

# same_tenant holds when subject and resource name the same, non-empty tenant.
same_tenant if {
	tenant := input.subject.properties.tenant
	is_string(tenant)
	tenant != ""
	tenant == input.resource.properties.tenant
}

signals contains "new_device" if input.context.new_device == true

signals contains "ip_suspicious" if cfg.ip_reputation[input.context.ip] == "suspicious"

signals contains "ip_bad" if cfg.ip_reputation[input.context.ip] == "bad"

signals contains "no_mfa" if not has_mfa

has_mfa if {
	some method in input.subject.properties.amr
	method in cfg.mfa_methods
}

score := sum([cfg.risk_weights[s] | some s in signals])

default allow := false

allow if {
	permitted
	same_tenant
	score < cfg.risk_threshold
}

reasons contains "rbac: no role grants the action" if not permitted

reasons contains "abac: subject and resource tenants differ" if not same_tenant

reasons contains sprintf("risk: score %d reaches %d", [score, cfg.risk_threshold]) if {
	score >= cfg.risk_threshold
}

# METADATA
# entrypoint: true
decision := {"allow": allow, "reasons": reasons, "risk": {"score": score, "signals": signals}}

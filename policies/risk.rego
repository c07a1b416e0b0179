# Package verdict.risk scores a request from 0 to 100 by adding the weights of
# the risk signals present, and maps the score to a level (low, medium, high).
# It also tells whether the subject shows fresh multi-factor authentication,
# which is what a step-up obligation asks for.
#
# Weights, thresholds and windows live in data.verdict.config.risk; the step-up
# max age lives in data.verdict.config.step_up.
#
# Performance (docs/performance.md): every rule reference and every read of a
# data.verdict.config path costs the evaluator a lookup and allocations even
# when cached, so a decision reads risk through one rule (summary); the signals
# that input fields decide alone are found by rule indexing without evaluating
# a body; off_hours reads the business hours once and computes the hour in its
# own body; each other signal reads what it needs once; the time is parsed
# once (now_ns); no_mfa and stale_auth compare has_mfa and recent_auth with
# their false defaults instead of negating them (a negation is an evaluation
# of its own).
package verdict.risk

# now_ns is the evaluation time: input.context.time (RFC 3339) when present and
# valid, otherwise the clock of the evaluating process. Tests pin the time
# through the input; the caller of the engine decides whether to trust a
# caller-supplied context.time.
now_ns := ns if {
	t := input.context.time
	is_string(t)
	ns := time.parse_rfc3339_ns(t)
} else := time.now_ns()

# detected holds the names of the risk signals present in the request.
detected contains "new_device" if input.context.new_device == true

detected contains "ip_suspicious" if input.context.ip_reputation == "suspicious"

detected contains "ip_bad" if input.context.ip_reputation == "bad"

detected contains "impossible_travel" if {
	v := input.context.geo_velocity_kmh
	is_number(v)
	v > data.verdict.config.risk.impossible_travel_kmh
}

detected contains "failed_logins" if {
	n := input.context.failed_logins_24h
	is_number(n)
	n >= data.verdict.config.risk.failed_logins_threshold
}

# off_hours: before the start hour or from the end hour on, in the
# business-hours time zone.
detected contains "off_hours" if {
	hours := data.verdict.config.risk.business_hours
	h := time.clock([now_ns, hours.timezone])[0]
	true in [h < hours.start_hour, h >= hours.end_hour]
}

detected contains "no_mfa" if has_mfa == false

# stale_auth: authenticated longer ago than the window, or at an unknown time.
detected contains "stale_auth" if recent_auth == false

default has_mfa := false

# has_mfa holds when amr lists an MFA method or acr is a step-up ACR value.
has_mfa if {
	methods := data.verdict.config.risk.mfa_methods
	some method in input.subject.properties.amr
	method in methods
} else if {
	input.subject.properties.acr in data.verdict.config.step_up.acr_values
}

# auth_age is the number of seconds since authentication; undefined without auth_time.
auth_age := (now_ns / 1000000000) - t if {
	t := input.subject.properties.auth_time
	is_number(t)
}

default recent_auth := false

recent_auth if auth_age <= data.verdict.config.risk.stale_auth_seconds

# fresh_mfa holds when MFA was used within the step-up max age.
default fresh_mfa := false

fresh_mfa if {
	has_mfa
	auth_age <= data.verdict.config.step_up.max_age
}

# summary is the risk part of the decision: the score, its level and the
# present signals, sorted for stable output. The score is the sum of the
# present signals' weights, within 0..100; a signal without a weight adds
# nothing, and a weight that is not a number leaves the score, and so the
# summary, undefined. The 0..100 scale is part of the decision contract, not a
# tunable. One rule builds all three so that a decision reads risk once.
summary := {"score": s, "level": level_of(s, conf.thresholds), "signals": sort(detected)} if {
	conf := data.verdict.config.risk
	weights := conf.weights
	s := min([max([sum([weights[x] | some x in detected]), 0]), 100])
}

level_of(s, thresholds) := "high" if {
	s >= thresholds.high
} else := "medium" if {
	s >= thresholds.medium
} else := "low"

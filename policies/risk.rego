# Package verdict.risk scores a request from 0 to 100 by adding the weights of
# the risk signals present, and maps the score to a level (low, medium, high).
# It also tells whether the subject shows fresh multi-factor authentication,
# which is what a step-up obligation asks for.
#
# Weights, thresholds and windows live in data.verdict.config.risk; the step-up
# max age lives in data.verdict.config.step_up.
package verdict.risk

risk_config := data.verdict.config.risk

step_up_config := data.verdict.config.step_up

# max_score is fixed: the 0..100 scale is part of the decision contract, not a tunable.
max_score := 100

# now_ns is the evaluation time: input.context.time (RFC 3339) when present and
# valid, otherwise the clock of the evaluating process. Tests pin the time
# through the input; the caller of the engine decides whether to trust a
# caller-supplied context.time.
now_ns := ns if {
	is_string(input.context.time)
	ns := time.parse_rfc3339_ns(input.context.time)
} else := time.now_ns()

now_s := now_ns / 1000000000

# detected holds the names of the risk signals present in the request.
detected contains "new_device" if input.context.new_device == true

detected contains "ip_suspicious" if input.context.ip_reputation == "suspicious"

detected contains "ip_bad" if input.context.ip_reputation == "bad"

detected contains "impossible_travel" if {
	v := input.context.geo_velocity_kmh
	is_number(v)
	v > risk_config.impossible_travel_kmh
}

detected contains "failed_logins" if {
	n := input.context.failed_logins_24h
	is_number(n)
	n >= risk_config.failed_logins_threshold
}

detected contains "off_hours" if off_hours

detected contains "no_mfa" if not has_mfa

detected contains "stale_auth" if not recent_auth

hour := time.clock([now_ns, risk_config.business_hours.timezone])[0]

off_hours if hour < risk_config.business_hours.start_hour

off_hours if hour >= risk_config.business_hours.end_hour

# has_mfa holds when amr lists an MFA method or acr is a step-up ACR value.
has_mfa if {
	some method in input.subject.properties.amr
	method in risk_config.mfa_methods
}

has_mfa if input.subject.properties.acr in step_up_config.acr_values

# auth_age is the number of seconds since authentication; undefined without auth_time.
auth_age := now_s - t if {
	t := input.subject.properties.auth_time
	is_number(t)
}

recent_auth if auth_age <= risk_config.stale_auth_seconds

# fresh_mfa holds when MFA was used within the step-up max age.
default fresh_mfa := false

fresh_mfa if {
	has_mfa
	auth_age <= step_up_config.max_age
}

total := sum([risk_config.weights[s] | some s in detected])

# score is the sum of the present signals' weights, within 0..100.
score := max_score if {
	total > max_score
} else := 0 if {
	total < 0
} else := total

level := "high" if {
	score >= risk_config.thresholds.high
} else := "medium" if {
	score >= risk_config.thresholds.medium
} else := "low"

# signals lists the present signals, sorted for stable output.
signals := sort(detected)

package verdict.risk_test

import data.verdict.risk

# now is 2026-11-22T10:00:00Z, inside business hours.
now := 1795341600

at(clock) := sprintf("2026-11-22T%sZ", [clock])

# clean is a subject with fresh MFA; it carries no risk signal.
clean := {"amr": ["pwd", "otp"], "auth_time": now - 60}

pwd_only := {"amr": ["pwd"], "auth_time": now - 60}

# req builds a request at 10:00 UTC from context and subject property overrides.
req(ctx, props) := {
	"subject": {"type": "user", "id": "alice", "properties": props},
	"context": object.union({"time": at("10:00:00")}, ctx),
}

failed(cases, got) := {c.name | some c in cases} - {c.name | some c in cases; got[c.name] == c.want}

score_cases := [
	{"name": "clean", "input": req({}, clean), "want": {"signals": [], "score": 0, "level": "low"}},
	# new_device
	{"name": "new device", "input": req({"new_device": true}, clean), "want": {"signals": ["new_device"], "score": 20, "level": "low"}},
	{"name": "known device", "input": req({"new_device": false}, clean), "want": {"signals": [], "score": 0, "level": "low"}},
	{"name": "new device as a string", "input": req({"new_device": "true"}, clean), "want": {"signals": [], "score": 0, "level": "low"}},
	# ip_reputation
	{"name": "good ip", "input": req({"ip_reputation": "good"}, clean), "want": {"signals": [], "score": 0, "level": "low"}},
	{
		"name": "suspicious ip",
		"input": req({"ip_reputation": "suspicious"}, clean),
		"want": {"signals": ["ip_suspicious"], "score": 35, "level": "medium"},
	},
	{"name": "bad ip", "input": req({"ip_reputation": "bad"}, clean), "want": {"signals": ["ip_bad"], "score": 70, "level": "high"}},
	# geo_velocity_kmh
	{"name": "plausible travel", "input": req({"geo_velocity_kmh": 900}, clean), "want": {"signals": [], "score": 0, "level": "low"}},
	{"name": "travel at the threshold", "input": req({"geo_velocity_kmh": 1000}, clean), "want": {"signals": [], "score": 0, "level": "low"}},
	{
		"name": "impossible travel",
		"input": req({"geo_velocity_kmh": 1000.5}, clean),
		"want": {"signals": ["impossible_travel"], "score": 70, "level": "high"},
	},
	{"name": "travel as a string", "input": req({"geo_velocity_kmh": "fast"}, clean), "want": {"signals": [], "score": 0, "level": "low"}},
	# failed_logins_24h
	{"name": "failed logins below", "input": req({"failed_logins_24h": 4}, clean), "want": {"signals": [], "score": 0, "level": "low"}},
	{
		"name": "failed logins at the threshold",
		"input": req({"failed_logins_24h": 5}, clean),
		"want": {"signals": ["failed_logins"], "score": 25, "level": "low"},
	},
	{"name": "failed logins as a string", "input": req({"failed_logins_24h": "9"}, clean), "want": {"signals": [], "score": 0, "level": "low"}},
	# off_hours: business hours are 07:00 to 19:59:59 UTC.
	{
		"name": "before business hours",
		"input": req({"time": at("06:59:59")}, clean),
		"want": {"signals": ["off_hours"], "score": 10, "level": "low"},
	},
	{"name": "business hours start", "input": req({"time": at("07:00:00")}, clean), "want": {"signals": [], "score": 0, "level": "low"}},
	{"name": "business hours end", "input": req({"time": at("19:59:59")}, clean), "want": {"signals": [], "score": 0, "level": "low"}},
	{
		"name": "after business hours",
		"input": req({"time": at("20:00:00")}, clean),
		"want": {"signals": ["off_hours"], "score": 10, "level": "low"},
	},
	{
		"name": "time in another offset is read in UTC",
		"input": req({"time": "2026-11-22T23:30:00+05:00"}, clean),
		"want": {"signals": [], "score": 0, "level": "low"},
	},
	# no_mfa
	{"name": "password only", "input": req({}, pwd_only), "want": {"signals": ["no_mfa"], "score": 25, "level": "low"}},
	{
		"name": "missing amr",
		"input": req({}, {"auth_time": now - 60}),
		"want": {"signals": ["no_mfa"], "score": 25, "level": "low"},
	},
	{"name": "amr hwk", "input": req({}, {"amr": ["hwk"], "auth_time": now}), "want": {"signals": [], "score": 0, "level": "low"}},
	{"name": "amr mfa", "input": req({}, {"amr": ["mfa"], "auth_time": now}), "want": {"signals": [], "score": 0, "level": "low"}},
	{
		"name": "step-up acr counts as mfa",
		"input": req({}, {"amr": ["pwd"], "acr": "urn:verdict:mfa", "auth_time": now}),
		"want": {"signals": [], "score": 0, "level": "low"},
	},
	{
		"name": "amr of the wrong type",
		"input": req({}, {"amr": "otp", "auth_time": now}),
		"want": {"signals": ["no_mfa"], "score": 25, "level": "low"},
	},
	# stale_auth: stale after 12 hours.
	{
		"name": "auth exactly 12 hours ago",
		"input": req({}, {"amr": ["otp"], "auth_time": now - 43200}),
		"want": {"signals": [], "score": 0, "level": "low"},
	},
	{
		"name": "auth just over 12 hours ago",
		"input": req({}, {"amr": ["otp"], "auth_time": now - 43201}),
		"want": {"signals": ["stale_auth"], "score": 15, "level": "low"},
	},
	{
		"name": "missing auth_time is stale",
		"input": req({}, {"amr": ["otp"]}),
		"want": {"signals": ["stale_auth"], "score": 15, "level": "low"},
	},
	{
		"name": "auth_time as a string is stale",
		"input": req({}, {"amr": ["otp"], "auth_time": "1795341600"}),
		"want": {"signals": ["stale_auth"], "score": 15, "level": "low"},
	},
	# Combinations.
	{
		"name": "new device without mfa",
		"input": req({"new_device": true}, pwd_only),
		"want": {"signals": ["new_device", "no_mfa"], "score": 45, "level": "medium"},
	},
	{
		"name": "off hours without mfa",
		"input": req({"time": at("21:00:00")}, pwd_only),
		"want": {"signals": ["no_mfa", "off_hours"], "score": 35, "level": "medium"},
	},
	{
		"name": "every signal is capped at 100",
		"input": req(
			{
				"time": at("03:00:00"), "new_device": true, "ip_reputation": "bad",
				"geo_velocity_kmh": 5000, "failed_logins_24h": 10,
			},
			{"amr": ["pwd"]},
		),
		"want": {
			"signals": ["failed_logins", "impossible_travel", "ip_bad", "new_device", "no_mfa", "off_hours", "stale_auth"],
			"score": 100,
			"level": "high",
		},
	},
	{
		"name": "empty subject",
		"input": {"context": {"time": at("10:00:00")}},
		"want": {"signals": ["no_mfa", "stale_auth"], "score": 40, "level": "medium"},
	},
]

test_score_signals_and_level if {
	got := {c.name: v |
		some c in score_cases
		signals := risk.summary.signals with input as c.input
		score := risk.summary.score with input as c.input
		level := risk.summary.level with input as c.input
		v := {"signals": signals, "score": score, "level": level}
	}
	f := failed(score_cases, got)
	print("failed:", f)
	count(f) == 0
}

# with_weights returns the risk config with its weights replaced. Overriding
# data.verdict.config.risk.weights directly would merge with the bundle's
# weights, because the policy reads the parent document.
with_weights(w) := object.union(object.remove(data.verdict.config.risk, ["weights"]), {"weights": w})

# level_cases give new_device the weight under test, so the score equals it.
level_cases := [
	{"name": "zero", "input": 0, "want": {"score": 0, "level": "low"}},
	{"name": "just below medium", "input": 29, "want": {"score": 29, "level": "low"}},
	{"name": "medium threshold", "input": 30, "want": {"score": 30, "level": "medium"}},
	{"name": "just below high", "input": 69, "want": {"score": 69, "level": "medium"}},
	{"name": "high threshold", "input": 70, "want": {"score": 70, "level": "high"}},
	{"name": "maximum", "input": 100, "want": {"score": 100, "level": "high"}},
	{"name": "capped at 100", "input": 250, "want": {"score": 100, "level": "high"}},
	{"name": "floored at 0", "input": -10, "want": {"score": 0, "level": "low"}},
]

test_level_boundaries if {
	got := {c.name: v |
		some c in level_cases
		conf := with_weights({"new_device": c.input})
		score := risk.summary.score with input as req({"new_device": true}, pwd_only) with data.verdict.config.risk as conf
		level := risk.summary.level with input as req({"new_device": true}, pwd_only) with data.verdict.config.risk as conf
		v := {"score": score, "level": level}
	}
	f := failed(level_cases, got)
	print("failed:", f)
	count(f) == 0
}

test_signal_without_weight_scores_nothing if {
	conf := with_weights({"no_mfa": 5})
	risk.summary.score == 5 with input as req({"new_device": true}, pwd_only) with data.verdict.config.risk as conf
	risk.summary.signals == ["new_device", "no_mfa"] with input as req({"new_device": true}, pwd_only) with data.verdict.config.risk as conf
}

fresh_cases := [
	{"name": "otp a minute ago", "input": req({}, clean), "want": true},
	{"name": "otp at the max age", "input": req({}, {"amr": ["otp"], "auth_time": now - 300}), "want": true},
	{"name": "otp past the max age", "input": req({}, {"amr": ["otp"], "auth_time": now - 301}), "want": false},
	{"name": "otp an hour ago", "input": req({}, {"amr": ["otp"], "auth_time": now - 3600}), "want": false},
	{"name": "otp without auth_time", "input": req({}, {"amr": ["otp"]}), "want": false},
	{"name": "otp with auth_time as a string", "input": req({}, {"amr": ["otp"], "auth_time": "now"}), "want": false},
	{"name": "password a minute ago", "input": req({}, pwd_only), "want": false},
	{"name": "step-up acr a minute ago", "input": req({}, {"acr": "urn:verdict:mfa", "auth_time": now - 60}), "want": true},
	{"name": "step-up acr without auth_time", "input": req({}, {"acr": "urn:verdict:mfa"}), "want": false},
	{"name": "empty input", "input": {}, "want": false},
]

test_fresh_mfa if {
	got := {c.name: v | some c in fresh_cases; v := risk.fresh_mfa with input as c.input}
	f := failed(fresh_cases, got)
	print("failed:", f)
	count(f) == 0
}

test_now_from_context_time if {
	risk.now_ns == now * 1000000000 with input as req({}, clean)
}

test_now_falls_back_to_the_clock if {
	before := time.now_ns()
	ns := risk.now_ns with input as {}
	ns >= before - 1000000000
	bad := risk.now_ns with input as {"context": {"time": "yesterday"}}
	bad >= before - 1000000000
	number := risk.now_ns with input as {"context": {"time": 1795341600}}
	number >= before - 1000000000
}

test_business_hours_from_data if {
	hours := {"start_hour": 9, "end_hour": 17, "timezone": "Europe/Berlin"}

	# 08:30 UTC is 09:30 in Berlin (CET, UTC+1).
	risk.summary.signals == [] with input as req({"time": at("08:30:00")}, clean)
		with data.verdict.config.risk.business_hours as hours

	# 16:30 UTC is 17:30 in Berlin.
	risk.summary.signals == ["off_hours"] with input as req({"time": at("16:30:00")}, clean)
		with data.verdict.config.risk.business_hours as hours
}

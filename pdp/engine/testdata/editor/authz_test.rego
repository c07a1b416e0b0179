package verdict.authz_test

import data.verdict.authz

editor := {"roles": ["editor"], "tenant": "acme"}

test_editor_updates if {
	authz.decision.allow with input as {
		"subject": {"properties": editor},
		"action": {"name": "update"},
		"resource": {"properties": {"tenant": "acme"}},
	}
}

test_other_tenant_denied if {
	not authz.decision.allow with input as {
		"subject": {"properties": editor},
		"action": {"name": "read"},
		"resource": {"properties": {"tenant": "globex"}},
	}
}

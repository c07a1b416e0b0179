package verdict.search_test

import data.verdict.search

test_actions_are_every_granted_action if {
	search.actions == ["audit", "create", "delete", "read", "share", "update"]
}

test_actions_include_actions_scoped_to_a_type if {
	roles := {
		"viewer": {"permissions": ["read"]},
		"finance": {"permissions": [], "resources": {"invoice": ["read", "approve"]}},
		"clerk": {"resources": {"invoice": ["create"], "receipt": ["file"]}},
	}
	search.actions == ["approve", "create", "file", "read"] with data.verdict.config.roles as roles
}

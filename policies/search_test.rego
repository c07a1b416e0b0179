package verdict.search_test

import data.verdict.search

test_actions_are_every_granted_action if {
	roles := {
		"viewer": {"permissions": ["read"]},
		"finance": {"permissions": [], "resources": {"invoice": ["read", "approve"]}},
		"clerk": {"resources": {"invoice": ["create"], "receipt": ["file"]}},
	}
	search.actions == ["approve", "create", "file", "read"] with data.verdict.config.roles as roles
}

package example.authz_test

import data.example.authz

test_admin_allowed if authz.allow with input as {"subject": {"role": "admin"}, "action": "delete"}

test_viewer_deletes if authz.allow with input as {"subject": {"role": "viewer"}, "action": "delete"}

pick(_) := "one"

pick(_) := "two"

test_conflicting_function if pick(1) == "one"

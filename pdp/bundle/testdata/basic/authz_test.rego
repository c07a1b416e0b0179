package example.authz_test

import data.example.authz

test_admin_allowed if authz.allow with input as {"subject": {"role": "admin"}, "action": "delete"}

test_viewer_reads if authz.allow with input as {"subject": {"role": "viewer"}, "action": "read"}

test_viewer_cannot_write if not authz.allow with input as {"subject": {"role": "viewer"}, "action": "write"}

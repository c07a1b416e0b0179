package example.authz

default allow := false

allow if input.subject.role in data.example.admin_roles

allow if {
	input.action == "read"
	input.subject.role == "viewer"
}

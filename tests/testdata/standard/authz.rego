# Package verdict.authz is the test policy of the standard APIs (AuthZEN, Data API, forward
# auth). It implements the AuthZEN 1.0 certification fixture on records, a step-up case and a
# way to make evaluation fail.
#
#   read     any user, unless the record is hidden
#   write    admins (role "admin", or "admin" in roles), and alice on records not archived
#   delete   soft deletes only (action.properties.soft == true)
#   approve  needs acr urn:verdict:mfa; without it the deny carries a step_up obligation
#   explode  evaluation fails (conflicting values)
package verdict.authz

default boom := 0

boom := 1 if input.action.name == "explode"

boom := 2 if input.action.name == "explode"

decision := {
	"allow": allow,
	"reasons": reasons,
	"obligations": obligations,
	"risk": {"score": 10, "level": "low", "signals": []},
} if boom == 0

user if input.subject.type == "user"

record if input.resource.type == "record"

hidden if input.resource.properties.status == "hidden"

archived if input.resource.properties.status == "archived"

admin if input.subject.properties.role == "admin"

admin if "admin" in input.subject.properties.roles

default allow := false

allow if {
	user
	record
	input.action.name == "read"
	not hidden
}

allow if {
	user
	record
	input.action.name == "write"
	admin
}

allow if {
	user
	record
	input.action.name == "write"
	input.subject.id == "alice"
	not archived
}

allow if {
	user
	record
	input.action.name == "delete"
	input.action.properties.soft == true
}

allow if {
	user
	record
	input.action.name == "approve"
	input.subject.properties.acr == "urn:verdict:mfa"
}

reasons := ["standard: allowed"] if allow

else := ["standard: denied"]

obligation_set contains {"type": "step_up", "acr_values": ["urn:verdict:mfa"], "max_age": 300} if {
	input.action.name == "approve"
	not allow
}

obligations := [o | some o in obligation_set]

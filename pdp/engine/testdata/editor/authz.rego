# A small decision policy for the engine's tests: roles from data, tenant isolation, and a
# size limit that compares numbers.
package verdict.authz

default decision := {"allow": false, "reasons": ["no role grants the action"]}

decision := {"allow": true, "reasons": [reason]} if {
	some role in input.subject.properties.roles
	input.action.name in data.verdict.grants[role]
	input.subject.properties.tenant == input.resource.properties.tenant
	within_size
	reason := sprintf("role %s grants %s", [role, input.action.name])
}

default within_size := true

within_size := input.resource.properties.size <= 100 if input.resource.properties.size

# Package verdict.abac denies requests that break attribute rules: tenant
# isolation, ownership and classification against clearance. Each broken rule
# adds a reason to deny_reasons; an empty set means ABAC has no objection.
#
# Tunables live in data.verdict.config.classification and
# data.verdict.config.ownership.
#
# Performance (docs/performance.md): allow checks the rules directly and holds
# exactly when deny_reasons is empty, so an allowed request builds no reason
# string; deny_reasons is evaluated only to explain a deny. The configuration
# is read from the store once (conf), since every data.verdict.config path read
# costs a storage lookup, and a level's rank is its position in the levels
# list, looked up directly rather than from an object built of every level.
package verdict.abac

import data.verdict.rbac

# conf is the configuration, read from the store once per decision.
conf := data.verdict.config

# rank is the position of a level in the configured levels: a higher rank is
# more sensitive; undefined for an unknown level.
rank(level) := i if conf.classification.levels[i] == level

subject_tenant := t if {
	t := input.subject.properties.tenant
	is_string(t)
	t != ""
}

resource_tenant := t if {
	t := input.resource.properties.tenant
	is_string(t)
	t != ""
}

# resource_label names the resource in reasons, e.g. "document doc-1".
resource_label := sprintf("%s %s", [resource_kind, id]) if {
	id := input.resource.id
	is_string(id)
	id != ""
} else := resource_kind

resource_kind := t if {
	t := rbac.resource_type
} else := "resource"

# resource_classification is the resource's level; unset or null means the default.
resource_classification := c if {
	c := input.resource.properties.classification
	c != null
} else := conf.classification.default

# clearance is the subject's clearance; unset or null means the default.
clearance := c if {
	c := input.subject.properties.clearance
	c != null
} else := conf.classification.default_clearance

# is_owner holds when the resource's owner is the (non-empty) subject id.
is_owner if {
	id := input.subject.id
	is_string(id)
	id != ""
	input.resource.properties.owner == id
}

# owner_bypass holds when an effective role may act on anyone's resources.
# Inheritance is followed only when no held role is a bypass role itself.
owner_bypass if {
	bypass := conf.ownership.bypass_roles
	some r in rbac.role_list
	r in bypass
} else if {
	bypass := conf.ownership.bypass_roles
	some r in rbac.effective_roles
	r in bypass
}

# ownership_objection is the reason an ownership action is refused; undefined
# when the action needs no ownership or the subject owns or may bypass.
ownership_objection := msg if {
	ownership := conf.ownership
	a := rbac.action
	a in ownership.actions
	not is_owner
	not owner_bypass
	msg := sprintf("abac: %s does not own %s; %s needs ownership or role %s", [
		rbac.subject_id, resource_label, a,
		concat(" or ", sort(ownership.bypass_roles)),
	])
}

default allow := false

# allow holds exactly when no deny_reasons rule fires: the subject's tenant is
# set and is the resource's (subject_tenant == resource_tenant, read in
# place), no ownership objection, and a known clearance at or above a known
# classification (rank is defined only for known levels).
allow if {
	t := input.subject.properties.tenant
	is_string(t)
	t != ""
	input.resource.properties.tenant == t
	not ownership_objection
	rank(clearance) >= rank(resource_classification)
}

deny_reasons contains "abac: subject has no tenant" if not subject_tenant

deny_reasons contains sprintf("abac: %s has no tenant", [resource_label]) if not resource_tenant

deny_reasons contains msg if {
	subject_tenant != resource_tenant
	msg := sprintf("abac: subject tenant %s does not match tenant %s of %s", [subject_tenant, resource_tenant, resource_label])
}

deny_reasons contains ownership_objection

# A level is known when rank has it; ranks are numbers, never false.
deny_reasons contains msg if {
	not rank(resource_classification)
	msg := sprintf("abac: %s has unknown classification %v", [resource_label, resource_classification])
}

deny_reasons contains msg if {
	not rank(clearance)
	msg := sprintf("abac: %s has unknown clearance %v", [rbac.subject_id, clearance])
}

deny_reasons contains msg if {
	rank(clearance) < rank(resource_classification)
	msg := sprintf("abac: clearance %s of %s is below classification %s of %s", [
		clearance, rbac.subject_id, resource_classification, resource_label,
	])
}

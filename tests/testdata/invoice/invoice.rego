# Package verdict.resources.invoice holds the rules for resources of type
# invoice: approving one needs an amount, and an amount over the approval
# limit (data.verdict.config.invoice.approval_limit) needs role manager too.
# Which roles may approve at all is data: roles.finance.resources.invoice.
package verdict.resources.invoice

import data.verdict.rbac

# limit is the largest amount a subject without role manager may approve.
limit := data.verdict.config.invoice.approval_limit

# amount is the invoice's amount; undefined when missing or not a number, so
# that every rule reading it fails closed.
amount := a if {
	a := input.resource.properties.amount
	is_number(a)
}

default allow := false

# Only approve has conditions here; other actions are left to RBAC and ABAC.
allow if rbac.action != "approve"

allow if {
	rbac.action == "approve"
	amount <= limit
}

allow if {
	rbac.action == "approve"
	amount > limit
	"manager" in rbac.roles
}

deny_reasons contains "invoice: approve needs a numeric amount" if {
	rbac.action == "approve"
	not amount
}

deny_reasons contains msg if {
	rbac.action == "approve"
	amount > limit
	not "manager" in rbac.roles
	msg := sprintf("invoice: approving %v is over the limit of %v and needs role manager", [amount, limit])
}

# An approval over the limit is allowed, and the caller must record who
# approved it.
obligations contains {"type": "audit", "reason": "invoice over the approval limit"} if {
	rbac.action == "approve"
	amount > limit
}

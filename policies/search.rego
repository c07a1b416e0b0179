# Package verdict.search completes data.verdict.search, the candidates AuthZEN
# search evaluates (docs/api.md): subjects and resources are data
# (data.json); actions are derived here from the role definitions, so that an
# action a role grants is searchable without being listed twice.
package verdict.search

# actions are every action a role grants, on every resource type or on one
# (data.verdict.config.roles[_].permissions and .resources[_]), sorted.
actions := sort(global | scoped) if {
	defs := data.verdict.config.roles
	global := {a | some def in defs; some a in def.permissions}
	scoped := {a | some def in defs; some granted in def.resources; some a in granted}
}

package acme.gate

default decision := {"allow": false, "reasons": ["gate: only globex may read reports"]}

decision := {"allow": true, "reasons": ["gate: globex reads reports"]} if {
	input.subject.properties.tenant == "globex"
	input.action.name == "read"
}

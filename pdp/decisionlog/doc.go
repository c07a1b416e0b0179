// Package decisionlog owns the decision log: the record of every decision, in OPA's
// decision-log event format so that any OPA-compatible receiver accepts it, what the log keeps
// of it (sampling of allowed decisions, the policy's data.system.log.drop and
// data.system.log.mask rules, configured masks) and where it goes (stdout, a rotated file, or
// an HTTP receiver speaking OPA's decision-log service protocol, with an on-disk spill).
//
// Records are handed in on the request path and never block it: a bounded queue feeds one
// goroutine that builds, masks, encodes and writes the events. Every record that is not
// written, whatever the reason, is counted (Stats). Records hold the policy input as
// evaluated, which carries the verified claims, never the raw token.
package decisionlog

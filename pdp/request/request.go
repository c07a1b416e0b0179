// Package request turns API request bodies into policy inputs: it decodes the native and
// AuthZEN bodies strictly, checks the members a decision needs, merges AuthZEN evaluation
// items over their defaults, lays the bundle's entity directory under what the caller sent,
// sets the subject from a verified token, and lists and pages the candidates of AuthZEN
// searches. It is the service step between the transports and the engine: pdp/httpapi and
// verdict eval build their inputs here. It knows nothing of HTTP; a problem with what the
// caller sent is an *Error, which each transport maps to its own status.
package request

// Error is a problem with what the caller sent, such as a malformed body or a missing member.
// Its message says what is wrong without quoting the caller's input, so a transport may show
// it as it is (HTTP answers 400 with it).
type Error struct{ msg string }

func (e *Error) Error() string { return e.msg }

// Invalid returns an *Error with the message msg.
func Invalid(msg string) error { return &Error{msg: msg} }

//go:build race

package httpapi

// raceEnabled is true when the tests run under the race detector, which slows evaluation
// several times over; the longest tests then check fewer cases (the Makefile also runs them
// in full without it).
const raceEnabled = true

package token

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// errDuplicateMember marks a JSON object that names one member twice. encoding/json keeps the
// last; another parser downstream (a policy engine, a log pipeline) may keep the first, so a
// signed token could mean two things. RFC 7515 §5.2 and RFC 7519 §4 say refuse.
var errDuplicateMember = errors.New("duplicate JSON member")

// checkUniqueMembers fails on any object in data, at any depth, that repeats a member name.
// data must already be known to be valid JSON: this is a scanner, not a parser, and it costs
// far less than json.Decoder's token stream.
func checkUniqueMembers(data []byte) error {
	type frame struct {
		object bool
		seen   map[string]struct{}
	}
	var stack []frame
	expectKey := false
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '{':
			stack = append(stack, frame{object: true})
			expectKey = true
		case '[':
			stack = append(stack, frame{})
			expectKey = false
		case '}', ']':
			stack = stack[:len(stack)-1]
			expectKey = false
		case ',':
			expectKey = len(stack) > 0 && stack[len(stack)-1].object
		case '"':
			end := stringEnd(data, i)
			if expectKey {
				top := &stack[len(stack)-1]
				key, err := memberName(data[i : end+1])
				if err != nil {
					return err
				}
				if _, dup := top.seen[key]; dup {
					return fmt.Errorf("%w: %q", errDuplicateMember, truncate(key, 40))
				}
				if top.seen == nil {
					top.seen = make(map[string]struct{}, 16)
				}
				top.seen[key] = struct{}{}
				expectKey = false
			}
			i = end
		}
	}
	return nil
}

// stringEnd returns the index of the quote closing the JSON string that opens at start.
func stringEnd(data []byte, start int) int {
	for i := start + 1; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return len(data) - 1
}

// memberName returns a member name's value; escaped names ("\u0065xp" is "exp") are decoded.
func memberName(quoted []byte) (string, error) {
	if bytes.IndexByte(quoted, '\\') < 0 {
		return string(quoted[1 : len(quoted)-1]), nil
	}
	var s string
	err := json.Unmarshal(quoted, &s)
	return s, err
}

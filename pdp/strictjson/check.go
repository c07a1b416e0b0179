package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Errors returned by Check, wrapped with the member name or the byte offset.
var (
	// ErrDuplicateMember marks an object that names one member twice.
	ErrDuplicateMember = errors.New("duplicate member")
	// ErrMemberCase marks a member whose name differs only in case from one the shape defines.
	ErrMemberCase = errors.New("member names are case-sensitive")
	// ErrInvalidUTF8 marks invalid UTF-8, or a \u escape of an unpaired UTF-16 surrogate.
	ErrInvalidUTF8 = errors.New("invalid UTF-8")
)

// Shape names the members an object may hold, each mapped to the shape of its value. A nil
// Shape is a free-form value (properties, context, an input document): its member names are
// the sender's own, so only duplicates and encoding are checked in it. A Shape given for an
// array applies to each element. Members a Shape does not name are allowed, unless they differ
// only in case from one it names.
type Shape map[string]Shape

// linearMembers is how many member names of one object are compared one by one before the
// object gets a map: request bodies have a handful per object, and a map per object would
// cost more than the comparisons.
const linearMembers = 16

// Check reports the first ambiguity in data, which must be one valid JSON document: invalid
// UTF-8, an unpaired surrogate escape, an object at any depth that repeats a member name
// (escapes decoded, so "\u0065xp" repeats "exp"), or a member of an object described by shape
// whose name is a case variant of one the shape names ("Subject" for "subject").
func Check(data []byte, shape Shape) error {
	if !utf8.Valid(data) {
		return fmt.Errorf("%w at byte %d", ErrInvalidUTF8, invalidOffset(data))
	}
	return walk(data, shape)
}

// frame is an open object or array.
type frame struct {
	object bool
	// shape describes this object's members, or each element of this array.
	shape Shape
	// first is the index in walk's names of this object's first member name.
	first int
	// seen holds the object's names once it has more than linearMembers.
	seen map[string]struct{}
}

// walk goes through the document once. It relies on data being valid JSON: it tracks
// structure by the bytes that open and close containers and strings, and does not check
// grammar. Its stack of open containers and the member names of the open objects start on
// arrays the size of a typical request body, so checking one allocates nothing.
func walk(data []byte, root Shape) error {
	var stackBuf [8]frame
	var namesBuf [32][]byte
	stack, names := stackBuf[:0], namesBuf[:0]
	next := root
	expectKey := false
	for i := 0; i < len(data); i++ {
		switch b := data[i]; b {
		case '{', '[':
			if n := len(stack); n > 0 && !stack[n-1].object {
				next = stack[n-1].shape
			}
			stack = append(stack, frame{object: b == '{', shape: next, first: len(names)})
			expectKey = b == '{'
		case '}', ']':
			names = names[:stack[len(stack)-1].first]
			stack = stack[:len(stack)-1]
			expectKey = false
		case ',':
			expectKey = stack[len(stack)-1].object
		case '"':
			end, escaped, err := stringEnd(data, i)
			if err != nil {
				return err
			}
			if expectKey {
				name, err := memberName(data[i:end+1], escaped)
				if err != nil {
					return err
				}
				top := &stack[len(stack)-1]
				var dup bool
				if names, dup = record(top, names, name); dup {
					return fmt.Errorf("%w %s", ErrDuplicateMember, quote(name))
				}
				if next, err = top.shape.member(name); err != nil {
					return err
				}
				expectKey = false
			}
			i = end
		}
	}
	return nil
}

// memberName returns a member name, quoted as sent, with its escapes decoded.
func memberName(quoted []byte, escaped bool) ([]byte, error) {
	if !escaped {
		return quoted[1 : len(quoted)-1], nil
	}
	var s string
	err := json.Unmarshal(quoted, &s)
	return []byte(s), err
}

// record adds name to the names of the object top and reports whether it was already one.
func record(top *frame, names [][]byte, name []byte) ([][]byte, bool) {
	if top.seen != nil {
		if _, dup := top.seen[string(name)]; dup {
			return names, true
		}
		top.seen[string(name)] = struct{}{}
		return names, false
	}
	for _, n := range names[top.first:] {
		if bytes.Equal(n, name) {
			return names, true
		}
	}
	names = append(names, name)
	if len(names)-top.first > linearMembers {
		top.seen = make(map[string]struct{}, 2*linearMembers)
		for _, n := range names[top.first:] {
			top.seen[string(n)] = struct{}{}
		}
	}
	return names, false
}

// member returns the shape of the value of the member name of an object of this shape, and
// refuses a name that differs only in case from one the shape names.
func (s Shape) member(name []byte) (Shape, error) {
	if s == nil {
		return nil, nil
	}
	if sub, ok := s[string(name)]; ok {
		return sub, nil
	}
	for want := range s {
		if strings.EqualFold(want, string(name)) {
			return nil, fmt.Errorf("member %s must be written %q: %w", quote(name), want, ErrMemberCase)
		}
	}
	return nil, nil
}

// stringEnd returns the index of the quote closing the string that opens at start, and
// whether the string holds escapes. A \u escape of an unpaired surrogate is an error: it
// decodes to U+FFFD here and to something else elsewhere.
func stringEnd(data []byte, start int) (int, bool, error) {
	escaped := false
	for i := start + 1; i < len(data); i++ {
		switch data[i] {
		case '"':
			return i, escaped, nil
		case '\\':
			escaped = true
			i++
			if data[i] != 'u' {
				continue
			}
			r := hex4(data[i+1:])
			switch {
			case r >= 0xd800 && r < 0xdc00:
				if low := data[i+5:]; len(low) < 6 || low[0] != '\\' || low[1] != 'u' ||
					hex4(low[2:]) < 0xdc00 || hex4(low[2:]) >= 0xe000 {
					return 0, false, unpaired(i - 1)
				}
				i += 10
			case r >= 0xdc00 && r < 0xe000:
				return 0, false, unpaired(i - 1)
			default:
				i += 4
			}
		}
	}
	return len(data) - 1, escaped, nil
}

func unpaired(at int) error {
	return fmt.Errorf("%w: unpaired surrogate escape at byte %d", ErrInvalidUTF8, at)
}

// hex4 reads the four hex digits of a \u escape; valid JSON guarantees them.
func hex4(b []byte) rune {
	var r rune
	for _, h := range b[:4] {
		switch {
		case h >= '0' && h <= '9':
			r = r<<4 | rune(h-'0')
		case h >= 'a' && h <= 'f':
			r = r<<4 | rune(h-'a'+10)
		default:
			r = r<<4 | rune(h-'A'+10)
		}
	}
	return r
}

// invalidOffset returns the index of the first byte of data that is not valid UTF-8.
func invalidOffset(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(data)
}

// quote bounds a sender's member name before it goes into an error message.
func quote(name []byte) string {
	const limit = 40
	if len(name) > limit {
		return fmt.Sprintf("%q...", name[:limit])
	}
	return fmt.Sprintf("%q", name)
}

package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// responseTooLargeError means a Data API answer encodes to more than
// server.max_data_response_bytes. Its message names the key and the limit.
type responseTooLargeError struct{ limit int64 }

func (e *responseTooLargeError) Error() string {
	return fmt.Sprintf("the document is larger than server.max_data_response_bytes (%d bytes); ask for a path further down", e.limit)
}

// dataBody encodes a Data API answer, {"result": ..., "decision_id": ...} with result left
// out when undefined (a defined null is "result": null, as OPA answers), indented when pretty. The result is written member by member into a
// buffer that stops as soon as it passes limit, so a document the size of the bundle's data is
// refused after limit bytes, never encoded whole. The limit is on the compact encoding, newline included.
func dataBody(result any, defined bool, id string, limit int64, pretty bool) ([]byte, error) {
	e := boundedJSON{limit: limit}
	e.buf.WriteByte('{')
	if defined {
		e.buf.WriteString(`"result":`)
		if err := e.value(result); err != nil {
			return nil, err
		}
		e.buf.WriteByte(',')
	}
	e.buf.WriteString(`"decision_id":`)
	if err := e.leaf(id); err != nil {
		return nil, err
	}
	e.buf.WriteString("}\n")
	if err := e.check(); err != nil {
		return nil, err
	}
	if !pretty {
		return e.buf.Bytes(), nil
	}
	var out bytes.Buffer
	if err := json.Indent(&out, e.buf.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// boundedJSON writes JSON-shaped Go values (what a query result holds: maps, slices, strings,
// numbers, booleans, null) as encoding/json does, object keys sorted, and fails once the
// output passes limit.
type boundedJSON struct {
	buf   bytes.Buffer
	limit int64
}

func (e *boundedJSON) value(v any) error {
	switch v := v.(type) {
	case map[string]any:
		e.buf.WriteByte('{')
		for i, k := range slices.Sorted(maps.Keys(v)) {
			if i > 0 {
				e.buf.WriteByte(',')
			}
			if err := e.leaf(k); err != nil {
				return err
			}
			e.buf.WriteByte(':')
			if err := e.value(v[k]); err != nil {
				return err
			}
		}
		e.buf.WriteByte('}')
	case []any:
		e.buf.WriteByte('[')
		for i, x := range v {
			if i > 0 {
				e.buf.WriteByte(',')
			}
			if err := e.value(x); err != nil {
				return err
			}
		}
		e.buf.WriteByte(']')
	default:
		return e.leaf(v)
	}
	return e.check()
}

// leaf writes a value with no members through encoding/json, for its escaping and numbers.
func (e *boundedJSON) leaf(v any) error {
	bs, err := json.Marshal(v)
	if err != nil {
		return err
	}
	e.buf.Write(bs)
	return e.check()
}

func (e *boundedJSON) check() error {
	if int64(e.buf.Len()) > e.limit {
		return &responseTooLargeError{limit: e.limit}
	}
	return nil
}

package request

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/verdict-pdp/verdict/pdp/stage"
	"github.com/verdict-pdp/verdict/pdp/strictjson"
)

// Decode decodes body, one JSON document, into v strictly (DecodeDocument); an error is an
// *Error.
func Decode(body []byte, shape strictjson.Shape, v any) error {
	stage.Enter(stage.Decode)
	if err := DecodeDocument(body, shape, v); err != nil {
		return Invalid(err.Error())
	}
	return nil
}

// DecodeDocument decodes data, one JSON document, into v with numbers kept as json.Number, so
// the policy sees them exactly as sent. It refuses what another parser could read differently
// (strictjson.Check): a repeated member name at any depth, a member name that differs only in
// case from one shape names, invalid UTF-8 and unpaired surrogate escapes. Its error says
// what is wrong without quoting the caller's input, apart from a bounded member name.
func DecodeDocument(data []byte, shape strictjson.Shape, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return errors.New(jsonProblem(err))
	}
	end := dec.InputOffset()
	if len(bytes.TrimSpace(data[end:])) != 0 {
		return errors.New("more than one JSON document, or data after it")
	}
	return strictjson.Check(data[:end], shape)
}

// IsAbsent reports whether a raw JSON member was left out or sent as null.
func IsAbsent(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}

// decodeRaw decodes one raw JSON member with numbers kept as json.Number.
func decodeRaw(raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return dec.Decode(v)
}

// jsonProblem describes a decoding error without quoting the caller's input back.
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("malformed JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Sprintf("%s must be a JSON %s", typ.Field, jsonKind(typ.Type.Kind().String()))
		}
		return "the request body has the wrong JSON type"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "malformed JSON: unexpected end of input"
	default:
		var reqErr *Error
		if errors.As(err, &reqErr) {
			return reqErr.msg
		}
		return "malformed JSON"
	}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "map", "struct":
		return "object"
	case "slice", "array":
		return "array"
	case "string":
		return "string"
	case "bool":
		return "boolean"
	default:
		return "value"
	}
}

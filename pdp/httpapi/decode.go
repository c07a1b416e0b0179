package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/verdict-pdp/verdict/pdp/stage"
	"github.com/verdict-pdp/verdict/pdp/strictjson"
)

// decodeJSON reads one JSON document of at most maxBytes from r's body into v, refusing a
// body that parsers could read differently (see decodeDocument); shape names the members of
// the body's objects.
func decodeJSON(w http.ResponseWriter, r *http.Request, maxBytes int64, shape strictjson.Shape, v any) error {
	body, err := readJSON(w, r, maxBytes)
	if err != nil {
		return err
	}
	return decodeBytes(body, shape, v)
}

// readJSON reads a JSON request body of at most maxBytes, refusing another content type and
// an empty body.
func readJSON(w http.ResponseWriter, r *http.Request, maxBytes int64) ([]byte, error) {
	stage.Enter(stage.Decode)
	if !isJSONMediaType(r.Header.Get("Content-Type")) {
		return nil, errUnsupportedCT
	}
	body, err := readBody(http.MaxBytesReader(w, r.Body, maxBytes), r.ContentLength, maxBytes)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, fmt.Errorf("%w: the limit is %d bytes", errBodyTooLarge, maxBytes)
		}
		return nil, badRequest("the request body could not be read")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, badRequest("the request body is empty")
	}
	return body, nil
}

// decodeBytes decodes body, one JSON document, into v strictly (decodeDocument); an error is
// the caller's 400.
func decodeBytes(body []byte, shape strictjson.Shape, v any) error {
	stage.Enter(stage.Decode)
	if err := decodeDocument(body, shape, v); err != nil {
		return badRequest(err.Error())
	}
	return nil
}

// isJSONMediaType reports whether a Content-Type is application/json. The spelling nearly every
// client sends is recognised without parsing, which costs an allocation on each request.
func isJSONMediaType(ct string) bool {
	if ct == "application/json" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// readBody reads body into one buffer of the declared Content-Length, when it is known and
// within the limit (net/http then delivers exactly that many bytes), instead of growing one.
func readBody(body io.Reader, contentLength, maxBytes int64) ([]byte, error) {
	if contentLength <= 0 || contentLength > maxBytes {
		return io.ReadAll(body)
	}
	buf := make([]byte, contentLength)
	_, err := io.ReadFull(body, buf)
	return buf, err
}

// decodeDocument decodes data, one JSON document, into v with numbers kept as json.Number, so
// the policy sees them exactly as sent. It refuses what another parser could read differently
// (strictjson.Check): a repeated member name at any depth, a member name that differs only in
// case from one shape names, invalid UTF-8 and unpaired surrogate escapes. Its error says
// what is wrong without quoting the caller's input, apart from a bounded member name.
func decodeDocument(data []byte, shape strictjson.Shape, v any) error {
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
		var reqErr *requestError
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

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
)

// decodeJSON reads one JSON document of at most maxBytes from r's body into v. Numbers stay
// json.Number so the policy sees them exactly as sent.
func decodeJSON(w http.ResponseWriter, r *http.Request, maxBytes int64, v any) error {
	body, err := readJSON(w, r, maxBytes)
	if err != nil {
		return err
	}
	return decodeBytes(body, v)
}

// readJSON reads a JSON request body of at most maxBytes, refusing another content type and
// an empty body.
func readJSON(w http.ResponseWriter, r *http.Request, maxBytes int64) ([]byte, error) {
	stage.Enter(stage.Decode)
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return nil, errUnsupportedCT
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBytes))
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

// decodeBytes decodes the one JSON document of body into v.
func decodeBytes(body []byte, v any) error {
	stage.Enter(stage.Decode)
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return badRequest(jsonProblem(err))
	}
	if dec.More() {
		return badRequest("the request body holds more than one JSON document")
	}
	return nil
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

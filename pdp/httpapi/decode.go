package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/verdict-pdp/verdict/pdp/request"
	"github.com/verdict-pdp/verdict/pdp/stage"
	"github.com/verdict-pdp/verdict/pdp/strictjson"
)

// decodeJSON reads one JSON document of at most maxBytes from r's body into v, refusing a
// body that parsers could read differently (see request.DecodeDocument); shape names the members of
// the body's objects.
func decodeJSON(w http.ResponseWriter, r *http.Request, maxBytes int64, shape strictjson.Shape, v any) error {
	body, err := readJSON(w, r, maxBytes)
	if err != nil {
		return err
	}
	return request.Decode(body, shape, v)
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

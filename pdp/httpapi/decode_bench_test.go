package httpapi

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/verdict-pdp/verdict/pdp/request"
)

// evaluationBody is an AuthZEN evaluation as a PEP sends it: every member, with properties and
// context.
const evaluationBody = `{"subject":{"type":"user","id":"alice@acme.example","properties":{"roles":["editor","viewer"],"tenant":"acme","department":"sales"}},` +
	`"action":{"name":"read","properties":{"method":"GET"}},` +
	`"resource":{"type":"document","id":"doc-42","properties":{"tenant":"acme","owner":"bob","classification":"internal","tags":["q3","draft"],"size":12345}},` +
	`"context":{"time":"2026-11-22T10:00:00Z","ip":"203.0.113.7","device":{"managed":true,"os":"linux"}}}`

// benchDecode decodes body b.N times the way a handler does, into a fresh value from decode.
func benchDecode(b *testing.B, body string, decode func(w http.ResponseWriter, r *http.Request) error) {
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	r.Header.Set("Content-Type", "application/json")
	rd := bytes.NewReader(nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		rd.Reset([]byte(body))
		r.Body = io.NopCloser(rd)
		r.ContentLength = int64(len(body))
		if err := decode(w, r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeAuthorize reads and decodes the native /v1/authorize body into its input.
func BenchmarkDecodeAuthorize(b *testing.B) {
	benchDecode(b, readInternal, func(w http.ResponseWriter, r *http.Request) error {
		body, err := readJSON(w, r, 1<<16)
		if err != nil {
			return err
		}
		_, err = request.DecodeRequest(body)
		return err
	})
}

// BenchmarkDecodeAuthZENEvaluation decodes an AuthZEN evaluation body down to its tuple.
func BenchmarkDecodeAuthZENEvaluation(b *testing.B) {
	benchDecode(b, evaluationBody, func(w http.ResponseWriter, r *http.Request) error {
		body, err := readJSON(w, r, 1<<16)
		if err != nil {
			return err
		}
		wire, err := request.DecodeAuthZEN(body)
		if err != nil {
			return err
		}
		_, err = wire.Tuple()
		return err
	})
}

package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// benchServe serves body to path b.N times in-process and fails on another status.
func benchServe(b *testing.B, path, body string, headers ...string) {
	s := newTestServer(&testing.T{}, nil)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

func BenchmarkAuthZENEvaluation(b *testing.B) {
	benchServe(b, pathEvaluation, tuple(alice, read, record1))
}

func BenchmarkAuthZENEvaluations10(b *testing.B) {
	items := strings.TrimSuffix(strings.Repeat(`{"resource":`+record1+`},`, 10), ",")
	benchServe(b, pathEvaluations, `{"subject":`+alice+`,"action":`+read+`,"evaluations":[`+items+`]}`)
}

func BenchmarkAuthZENSearchResource(b *testing.B) {
	benchServe(b, pathSearchResource, `{"subject":`+alice+`,"action":`+read+`,"resource":{"type":"record"}}`)
}

func BenchmarkForwardAuth(b *testing.B) {
	benchServe(b, forwardAuthPath, "", "Authorization", "Bearer alice-token",
		"X-Original-Method", "GET", "X-Original-URI", "/records/record-1")
}

package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestDrain: once Drain is called, /ready answers 503 shutting_down while other requests are
// still served, every answer closing its connection.
func TestDrain(t *testing.T) {
	f := newFixture(t, true)
	tests := []struct {
		name   string
		drain  bool
		path   string
		status int
		close  bool
	}{
		{name: "ready before", path: "/ready", status: http.StatusOK},
		{name: "health before", path: "/health", status: http.StatusOK},
		{name: "ready while draining", drain: true, path: "/ready", status: http.StatusServiceUnavailable, close: true},
		{name: "health while draining", drain: true, path: "/health", status: http.StatusOK, close: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.drain {
				f.srv.Drain()
			}
			rec := httptest.NewRecorder()
			f.srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if got := rec.Header().Get("Connection") == "close"; got != tt.close {
				t.Errorf("Connection: close = %v, want %v", got, tt.close)
			}
			if tt.status == http.StatusServiceUnavailable {
				if e, _ := jsonBody(t, rec)["error"].(map[string]any); e["code"] != CodeShuttingDown {
					t.Errorf("error %v, want code %q", e, CodeShuttingDown)
				}
			}
		})
	}
}

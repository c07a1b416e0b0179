package outbound

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRedirects(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/loop"):
			http.Redirect(w, r, "/loop", http.StatusFound)
		default:
			_, _ = w.Write([]byte("ok"))
		}
	}))
	defer plain.Close()
	secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/downgrade":
			http.Redirect(w, r, plain.URL+"/ok", http.StatusFound)
		case "/same":
			http.Redirect(w, r, "/ok", http.StatusFound)
		default:
			_, _ = w.Write([]byte("ok"))
		}
	}))
	defer secure.Close()

	client := NewClient()
	client.Transport = secure.Client().Transport
	tests := []struct {
		name    string
		url     string
		wantErr string
	}{
		{name: "https to https is followed", url: secure.URL + "/same"},
		{name: "https to http is refused", url: secure.URL + "/downgrade", wantErr: "redirect from https to http refused"},
		{name: "a loop stops", url: plain.URL + "/loop", wantErr: "stopped after 3 redirects"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := client.Get(tt.url)
			if err == nil {
				resp.Body.Close()
			}
			if tt.wantErr == "" && err != nil {
				t.Fatalf("Get: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Get error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

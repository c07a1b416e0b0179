package bundle

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestHTTPSourceFetch(t *testing.T) {
	body := tarGz(t, basicEntries(t))
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		maxBytes int64
		wantErr  error
		wantETag string // after the fetch
		wantRaw  bool
	}{
		{
			name: "200",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("ETag", `"a"`)
				_, _ = w.Write(body)
			},
			wantETag: `"a"`, wantRaw: true,
		},
		{
			name:     "304",
			handler:  func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNotModified) },
			wantETag: `"old"`,
		},
		{
			name: "declared length over the limit",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("ETag", `"big"`)
				_, _ = w.Write(make([]byte, 2048))
			},
			maxBytes: 1024, wantErr: ErrTooLarge, wantETag: `"big"`,
		},
		{
			name: "streamed body over the limit",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("ETag", `"big"`)
				for range 4 {
					_, _ = w.Write(make([]byte, 512))
					w.(http.Flusher).Flush()
				}
			},
			maxBytes: 1024, wantErr: ErrTooLarge, wantETag: `"big"`,
		},
		{
			name:     "server error",
			handler:  func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusBadGateway) },
			wantErr:  ErrSource,
			wantETag: `"old"`,
		},
		{
			name:     "not found",
			handler:  http.NotFound,
			wantErr:  ErrSource,
			wantETag: `"old"`,
		},
		{
			name: "too slow",
			handler: func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-time.After(5 * time.Second):
				}
			},
			wantErr: ErrSource, wantETag: `"old"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			maxBytes := tt.maxBytes
			if maxBytes == 0 {
				maxBytes = testLimit
			}
			var counted int
			s := newHTTPSource(srv.URL, srv.Client(), "", maxBytes, time.Second, 0, func(n int) { counted += n })
			s.resume(`"old"`)
			f, err := s.fetch(context.Background())
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("fetch() error = %v, want %v", err, tt.wantErr)
			}
			if (f != nil) != tt.wantRaw || (f != nil && string(f.raw) != string(body)) {
				t.Errorf("fetch() = %v", f)
			}
			if s.etag != tt.wantETag {
				t.Errorf("etag = %q, want %q", s.etag, tt.wantETag)
			}
			if tt.wantRaw && counted != len(body) {
				t.Errorf("counted %d bytes, want %d", counted, len(body))
			}
			s.retry()
			if s.etag != `"old"` {
				t.Errorf("etag after retry = %q, want the previous one", s.etag)
			}
		})
	}
}

package httpapi

import "testing"

// TestFramingScan feeds what a client sends, in the pieces it arrives in, to the scan that
// spots header blocks with both Content-Length and Transfer-Encoding.
func TestFramingScan(t *testing.T) {
	tests := []struct {
		name      string
		reads     []string
		ambiguous bool
	}{
		{name: "both fields", reads: []string{"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"}, ambiguous: true},
		{name: "both, split mid-name", reads: []string{"POST / HTTP/1.1\r\nContent-Len", "gth: 5\r\nTransfer-", "Encoding: chunked\r\n", "\r\n"}, ambiguous: true},
		{name: "both, bare LF line ends", reads: []string{"POST / HTTP/1.1\ncontent-length: 5\ntransfer-encoding: chunked\n\n"}, ambiguous: true},
		{name: "second request of a pipeline", reads: []string{"GET / HTTP/1.1\r\nHost: a\r\n\r\nPOST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n"}, ambiguous: true},
		{name: "not yet ended", reads: []string{"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n"}},
		{name: "length only", reads: []string{"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"}},
		{name: "chunked only", reads: []string{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"}},
		{name: "fields in separate requests", reads: []string{"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\nPOST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"}},
		{name: "names inside a value", reads: []string{"GET / HTTP/1.1\r\nX-Note: content-length: transfer-encoding:\r\n\r\n"}},
		{name: "long lines", reads: []string{"GET /" + string(make([]byte, 5000)) + " HTTP/1.1\r\nContent-Length: 0\r\n\r\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c framingConn
			for _, r := range tt.reads {
				c.scan([]byte(r))
			}
			if got := c.ambiguous.Load(); got != tt.ambiguous {
				t.Errorf("ambiguous = %v, want %v", got, tt.ambiguous)
			}
		})
	}
}

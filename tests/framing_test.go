package tests

import (
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// TestAmbiguousFraming sends requests byte by byte over TCP: one carrying both Content-Length
// and Transfer-Encoding is refused with a 400 and its connection closed, so the request
// smuggled behind it gets no answer (RFC 9112 §6.3); well-framed pipelined requests are all
// answered on a connection that stays open.
func TestAmbiguousFraming(t *testing.T) {
	inst := startVerdict(t, "")
	addr := strings.TrimPrefix(inst.URL, "http://")
	const smuggled = "GET /health HTTP/1.1\r\nHost: verdict\r\n\r\n"
	body := `{"input":{}}`
	chunked := "c\r\n" + body + "\r\n0\r\n\r\n"
	tests := []struct {
		name    string
		parts   []string // written one after another, with a pause between
		answers []string // status lines, in order
		closed  bool
	}{
		{name: "content-length and transfer-encoding",
			parts:   []string{"POST /v1/data/verdict HTTP/1.1\r\nHost: verdict\r\nContent-Type: application/json\r\nContent-Length: 52\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked + smuggled},
			answers: []string{"HTTP/1.1 400"}, closed: true},
		{name: "transfer-encoding first, mixed case",
			parts:   []string{"POST /v1/data/verdict HTTP/1.1\r\nHost: verdict\r\ntransfer-ENCODING: chunked\r\nContent-Type: application/json\r\ncontent-length: 4\r\n\r\n" + chunked + smuggled},
			answers: []string{"HTTP/1.1 400"}, closed: true},
		{name: "fields split across writes",
			parts: []string{"POST /v1/data/verdict HTTP/1.1\r\nHost: verdict\r\nContent-Type: application/json\r\nContent-Le",
				"ngth: 52\r\nTransfer-Enc", "oding: chunked\r\n\r\n" + chunked + smuggled},
			answers: []string{"HTTP/1.1 400"}, closed: true},
		{name: "chunked alone is served",
			parts:   []string{"POST /v1/data/verdict HTTP/1.1\r\nHost: verdict\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked + smuggled},
			answers: []string{"HTTP/1.1 200", "HTTP/1.1 200"}},
		{name: "content-length alone is served",
			parts:   []string{"POST /v1/data/verdict HTTP/1.1\r\nHost: verdict\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n" + body + smuggled},
			answers: []string{"HTTP/1.1 200", "HTTP/1.1 200"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			for _, p := range tt.parts {
				if _, err := io.WriteString(conn, p); err != nil {
					t.Fatal(err)
				}
				time.Sleep(20 * time.Millisecond)
			}
			got, closed := readAnswers(t, conn, len(tt.answers))
			var statuses []string
			for _, line := range strings.Split(got, "\r\n") {
				if strings.HasPrefix(line, "HTTP/1.1 ") {
					statuses = append(statuses, line[:len("HTTP/1.1 200")])
				}
			}
			if strings.Join(statuses, ",") != strings.Join(tt.answers, ",") {
				t.Errorf("answers %q, want %q; got:\n%s", statuses, tt.answers, got)
			}
			if closed != tt.closed {
				t.Errorf("connection closed = %v, want %v", closed, tt.closed)
			}
		})
	}
}

// readAnswers reads what the server sends until it closes the connection (closed), or until it
// has sent want answers and then stays silent for a moment, or 10s pass.
func readAnswers(t *testing.T, conn net.Conn, want int) (string, bool) {
	t.Helper()
	var out strings.Builder
	buf := make([]byte, 4096)
	giveUp := time.Now().Add(10 * time.Second)
	for {
		deadline := giveUp
		if strings.Count(out.String(), "HTTP/1.1 ") >= want {
			deadline = time.Now().Add(time.Second)
		}
		_ = conn.SetReadDeadline(deadline)
		n, err := conn.Read(buf)
		out.Write(buf[:n])
		switch {
		case errors.Is(err, io.EOF):
			return out.String(), true
		case errors.Is(err, os.ErrDeadlineExceeded):
			return out.String(), false
		case err != nil:
			return out.String(), true // reset: closed as well
		}
	}
}

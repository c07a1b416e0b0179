package httpapi

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"sync/atomic"
)

// errAmbiguousFraming refuses a request that carries both Content-Length and Transfer-Encoding.
// RFC 9112 §6.3: such a message may be an attempt at request smuggling, and a server that
// answers it must close the connection afterwards. net/http lets Transfer-Encoding win and
// deletes Content-Length before a handler runs, so the connection's bytes are the only place
// left to see both.
var errAmbiguousFraming = badRequest("a request must not carry both Content-Length and Transfer-Encoding")

// NewListener wraps ln so that the server built by NewHTTPServer can refuse requests with
// ambiguous framing (both Content-Length and Transfer-Encoding) and close their connection,
// instead of answering a request smuggled behind them.
func NewListener(ln net.Listener) net.Listener { return framingListener{ln} }

type framingListener struct{ net.Listener }

var _ interface{ CloseWrite() error } = (*framingConn)(nil)

func (l framingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &framingConn{Conn: c}, nil
}

// framingKey is the context key of a request's *framingConn, set by NewHTTPServer.
type framingKey struct{}

func withFramingConn(ctx context.Context, c net.Conn) context.Context {
	if fc, ok := c.(*framingConn); ok {
		return context.WithValue(ctx, framingKey{}, fc)
	}
	return ctx
}

// framingConn watches what a client sends for a header block (lines up to a blank line) that
// holds both a Content-Length and a Transfer-Encoding field. It does not follow the message
// framing: it looks at every CRLF-delimited block, bodies included, so it cannot miss a header
// block; a body laid out like such a block only refuses its own sender's connection.
type framingConn struct {
	net.Conn
	// ambiguous is set once such a block was read; from then on every request on the
	// connection is refused and the connection closed.
	ambiguous atomic.Bool

	// The scan state below is touched only by Read, which net/http never calls concurrently.
	prefix      [maxFieldPrefix]byte // the current line's first bytes
	lineLen     int
	sawLength   bool
	sawEncoding bool
}

// maxFieldPrefix is as much of a line as the scan needs: the longest field name it looks for.
const maxFieldPrefix = len("transfer-encoding:")

// CloseWrite half-closes the connection when the one wrapped can: net/http does so before it
// closes a connection after an answer (Connection: close), so that a client still sending gets
// the answer rather than a reset. Without it the wrapper would hide the method.
func (c *framingConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *framingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.scan(p[:n])
	return n, err
}

func (c *framingConn) scan(b []byte) {
	for len(b) > 0 {
		seg, rest, eol := bytes.Cut(b, []byte{'\n'})
		if c.lineLen < maxFieldPrefix {
			copy(c.prefix[c.lineLen:], seg)
		}
		c.lineLen += len(seg)
		if !eol {
			return
		}
		c.endLine()
		b = rest
	}
}

func (c *framingConn) endLine() {
	line := c.prefix[:min(c.lineLen, maxFieldPrefix)]
	switch {
	case len(line) == 0 || (c.lineLen == 1 && line[0] == '\r'):
		if c.sawLength && c.sawEncoding {
			c.ambiguous.Store(true)
		}
		c.sawLength, c.sawEncoding = false, false
	case hasFieldName(line, "content-length:"):
		c.sawLength = true
	case hasFieldName(line, "transfer-encoding:"):
		c.sawEncoding = true
	}
	c.lineLen = 0
}

func hasFieldName(line []byte, name string) bool {
	return len(line) >= len(name) && bytes.EqualFold(line[:len(name)], []byte(name))
}

// withFraming refuses every request on a connection that sent an ambiguous header block, with
// a 400 and Connection: close, so nothing sent behind it on that connection is answered.
func (s *Server) withFraming(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fc, ok := r.Context().Value(framingKey{}).(*framingConn); ok && fc.ambiguous.Load() {
			w.Header().Set("Connection", "close")
			s.writeError(w, r, errAmbiguousFraming)
			return
		}
		next.ServeHTTP(w, r)
	})
}

package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/verdict-pdp/verdict/pdp/engine"
)

// levelLog keeps every log record, to check what level a failure is logged at.
type levelLog struct {
	mu      sync.Mutex
	records []slog.Record
}

func (l *levelLog) Enabled(context.Context, slog.Level) bool { return true }

func (l *levelLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r.Clone())
	return nil
}

func (l *levelLog) WithAttrs([]slog.Attr) slog.Handler { return l }

func (l *levelLog) WithGroup(string) slog.Handler { return l }

// highest returns the highest level logged, and its message.
func (l *levelLog) highest() (slog.Level, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	level, msg := slog.LevelDebug-1, ""
	for _, r := range l.records {
		if r.Level > level {
			level, msg = r.Level, r.Message
		}
	}
	return level, msg
}

// logTo sends the server's log to a fresh levelLog.
func logTo(s *Server) *levelLog {
	l := &levelLog{}
	s.log = slog.New(l)
	return l
}

func TestClassify(t *testing.T) {
	tooBig := errors.New("invalid number: number too big")
	tests := []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{name: "invalid input, as the engine wraps it", err: fmt.Errorf("%w: %w: context: %w", engine.ErrEvaluation, engine.ErrInvalidInput, tooBig),
			status: http.StatusBadRequest, code: CodeInvalidRequest},
		{name: "evaluation error", err: fmt.Errorf("%w: conflicting values", engine.ErrEvaluation),
			status: http.StatusInternalServerError, code: CodeEvaluationFailed},
		{name: "timeout", err: engine.ErrTimeout, status: http.StatusInternalServerError, code: CodeEvaluationFailed},
		{name: "client gone", err: fmt.Errorf("%w: %w", engine.ErrEvaluation, context.Canceled),
			status: http.StatusServiceUnavailable, code: CodeRequestCancelled},
		{name: "invalid path", err: engine.ErrInvalidPath, status: http.StatusBadRequest, code: CodeInvalidRequest},
		{name: "unknown", err: errors.New("disk on fire"), status: http.StatusInternalServerError, code: CodeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classify(tt.err)
			if got.status != tt.status || got.code != tt.code {
				t.Errorf("classify() = %d %s, want %d %s", got.status, got.code, tt.status, tt.code)
			}
			if strings.Contains(got.message, "too big") {
				t.Errorf("message %q echoes the raw error", got.message)
			}
		})
	}
}

// TestHugeNumberIsInvalidRequest sends a number too large for a policy input to every API
// that builds one: it is the caller's mistake, a 400 logged below Error, not a 500.
func TestHugeNumberIsInvalidRequest(t *testing.T) {
	const huge = `{"x":1e999999}`
	tests := []struct {
		name, path, body, code string
		headers                []string
	}{
		{name: "native", path: "/v1/authorize", code: CodeInvalidRequest, headers: []string{"Authorization", "Bearer alice-token"},
			body: `{"action":"read","resource":{"type":"record","id":"r"},"context":` + huge + `}`},
		{name: "AuthZEN", path: pathEvaluation, code: CodeInvalidRequest,
			body: `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"r"},"context":` + huge + `}`},
		{name: "Data API", path: "/v1/data/verdict/authz/allow", code: opaCodeInvalidParameter, body: `{"input":` + huge + `}`},
	}
	s := newTestServer(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := logTo(s)
			rec := send(t, s, http.MethodPost, tt.path, tt.body, tt.headers...)
			if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"code":"`+tt.code+`"`) {
				t.Fatalf("status %d, body %s; want 400 %s", rec.Code, rec.Body, tt.code)
			}
			if strings.Contains(rec.Body.String(), "too big") {
				t.Errorf("body %s echoes the raw error", rec.Body)
			}
			if level, msg := log.highest(); level >= slog.LevelError {
				t.Errorf("logged %q at %s", msg, level)
			}
		})
	}
}

// slowPolicy is the standard test policy cut to a decision that takes minutes unless stopped.
const slowPolicy = `package verdict.authz

decision := {"allow": count([1 |
	some a in numbers.range(1, 500)
	some b in numbers.range(1, 500)
	some c in numbers.range(1, 500)
]) > 0}
`

// TestClientGoneIsNotAnEvaluationError: a client that disconnects mid-evaluation cancels the
// request context. That is no fault of the policy or of Verdict: it is logged at Info and
// answered (to nobody) 503 request_cancelled, not 500 evaluation_failed at Error.
func TestClientGoneIsNotAnEvaluationError(t *testing.T) {
	tests := []struct {
		name, path, body, code string
		headers                []string
	}{
		{name: "native", path: "/v1/authorize", code: CodeRequestCancelled, headers: []string{"Authorization", "Bearer alice-token"},
			body: `{"action":"read","resource":{"type":"record","id":"r"}}`},
		{name: "AuthZEN", path: pathEvaluation, code: CodeRequestCancelled,
			body: `{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"r"}}`},
		{name: "Data API", path: "/v1/data/verdict/authz/decision", code: opaCodeInternal, body: `{"input":{}}`},
	}
	s := newTestServerWith(t, nil, map[string]string{"authz.rego": slowPolicy})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := logTo(s)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			time.AfterFunc(20*time.Millisecond, cancel)
			req := httptest.NewRequestWithContext(ctx, http.MethodPost, tt.path, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			for i := 0; i+1 < len(tt.headers); i += 2 {
				req.Header.Set(tt.headers[i], tt.headers[i+1])
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"code":"`+tt.code+`"`) {
				t.Fatalf("status %d, body %s; want 503 %s", rec.Code, rec.Body, tt.code)
			}
			if strings.Contains(rec.Body.String(), `"allow":true`) || strings.Contains(rec.Body.String(), `"decision":true`) {
				t.Errorf("body %s allows", rec.Body)
			}
			if level, msg := log.highest(); level >= slog.LevelError {
				t.Errorf("logged %q at %s", msg, level)
			}
		})
	}
	// Counted apart from the policy errors operators alert on (Data API queries are not
	// decisions).
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if m := rec.Body.String(); !strings.Contains(m, `verdict_decisions_total{result="cancelled"} 2`) ||
		!strings.Contains(m, `verdict_decisions_total{result="error"} 0`) {
		t.Errorf("decision metrics:\n%s", grepLines(m, "verdict_decisions_total"))
	}
}

// grepLines returns the lines of text that contain substr.
func grepLines(text, substr string) string {
	var out []string
	for line := range strings.Lines(text) {
		if strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "")
}

package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeVerdict answers with the given statuses in turn (the last one repeats) and records what
// it was sent.
type fakeVerdict struct {
	statuses []int
	body     string
	calls    atomic.Int32
	last     atomic.Pointer[http.Request]
	lastBody atomic.Value
}

func (f *fakeVerdict) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(f.calls.Add(1)) - 1
	b, _ := io.ReadAll(r.Body)
	f.last.Store(r)
	f.lastBody.Store(string(b))
	status := f.statuses[min(n, len(f.statuses)-1)]
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Request-ID", "req-1")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="verdict", error="invalid_token"`)
	}
	w.WriteHeader(status)
	if status == http.StatusOK {
		_, _ = io.WriteString(w, f.body)
		return
	}
	_, _ = io.WriteString(w, `{"error":{"code":"some_code","message":"some message"},"request_id":"req-1"}`)
}

func newFake(t *testing.T, body string, statuses ...int) (*fakeVerdict, *Client) {
	t.Helper()
	f := &fakeVerdict{statuses: statuses, body: body}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, WithBackoff(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

const allowBody = `{"decision_id":"d1","allow":true,"reasons":["ok"],"obligations":[],"revision":"r1"}`

func TestAuthorizeRetries(t *testing.T) {
	tests := []struct {
		name      string
		statuses  []int
		wantCalls int32
		wantErr   error
		wantCode  int
	}{
		{name: "success", statuses: []int{200}, wantCalls: 1},
		{name: "503 then success", statuses: []int{503, 503, 200}, wantCalls: 3},
		{name: "503 until retries run out", statuses: []int{503}, wantCalls: 3, wantErr: ErrUnavailable, wantCode: 503},
		{name: "500 is not retried", statuses: []int{500}, wantCalls: 1, wantCode: 500},
		{name: "401 is not retried", statuses: []int{401}, wantCalls: 1, wantCode: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := newFake(t, allowBody, tt.statuses...)
			d, err := c.Authorize(context.Background(), "tok", Request{Action: Action{Name: "read"}, Resource: Resource{Type: "doc", ID: "1"}})
			if got := f.calls.Load(); got != tt.wantCalls {
				t.Errorf("%d calls, want %d", got, tt.wantCalls)
			}
			if tt.wantCode == 0 {
				if err != nil || !d.Allow || d.DecisionID != "d1" {
					t.Fatalf("decision %+v, error %v", d, err)
				}
				return
			}
			var apiErr *Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != tt.wantCode || apiErr.Code != "some_code" || apiErr.RequestID != "req-1" {
				t.Fatalf("error %#v", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v is not %v", err, tt.wantErr)
			}
		})
	}
}

func TestAuthorizeSendsTheRequest(t *testing.T) {
	f, c := newFake(t, allowBody, 200)
	_, err := c.Authorize(context.Background(), "tok-1", Request{Action: Action{Name: "read"},
		Resource: Resource{Type: "doc", ID: "1"}, Context: map[string]any{"ip": "203.0.113.7"}})
	if err != nil {
		t.Fatal(err)
	}
	r := f.last.Load()
	if r.URL.Path != "/v1/authorize" || r.Header.Get("Authorization") != "Bearer tok-1" || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("request %s %v", r.URL.Path, r.Header)
	}
	want := `{"action":{"name":"read"},"resource":{"type":"doc","id":"1"},"context":{"ip":"203.0.113.7"}}`
	if got := f.lastBody.Load(); got != want {
		t.Errorf("body %s, want %s", got, want)
	}
}

func TestCallsRespectContextAndTimeout(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(300 * time.Millisecond):
		}
	}))
	defer slow.Close()
	c, _ := New(slow.URL, WithTimeout(50*time.Millisecond))
	start := time.Now()
	_, err := c.Authorize(context.Background(), "tok", Request{})
	if !errors.Is(err, ErrUnavailable) || time.Since(start) > time.Second {
		t.Errorf("error %v after %v", err, time.Since(start))
	}

	_, c2 := newFake(t, allowBody, 503)
	c2.backoff = time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start = time.Now()
	if _, err := c2.Authorize(ctx, "tok", Request{}); !errors.Is(err, ErrUnavailable) || time.Since(start) > time.Second {
		t.Errorf("retry wait ignored the context: %v after %v", err, time.Since(start))
	}
}

func TestAuthorizeBatch(t *testing.T) {
	f, c := newFake(t, `{"evaluations":[`+allowBody+`,{"decision_id":"","allow":false,"reasons":[],"obligations":[],"revision":"",`+
		`"error":{"status":400,"code":"invalid_request","message":"resource is required"}}]}`, 200)
	ds, err := c.AuthorizeBatch(context.Background(), "tok", []Request{{Action: Action{Name: "read"}}, {}}, DenyOnFirstDeny)
	if err != nil || len(ds) != 2 || !ds[0].Allow || ds[1].Error == nil || ds[1].Error.Code != "invalid_request" {
		t.Fatalf("decisions %+v, error %v", ds, err)
	}
	if body, _ := f.lastBody.Load().(string); !strings.Contains(body, `"options":{"evaluations_semantic":"deny_on_first_deny"}`) {
		t.Errorf("body %s", body)
	}
	if _, err := c.AuthorizeBatch(context.Background(), "tok", nil, ""); err == nil {
		t.Error("an empty batch was sent")
	}
	// More answers than requests would let a caller pairing them by index read past its own.
	if ds, err := c.AuthorizeBatch(context.Background(), "tok", []Request{{}}, ""); err == nil {
		t.Errorf("2 answers to 1 request accepted: %+v", ds)
	}
}

func TestEvaluations(t *testing.T) {
	f, c := newFake(t, `{"evaluations":[{"decision":true},{"decision":false,"context":{"error":{"status":400}}}]}`, 200)
	c.pepAuth = WithAPIKeyHeader("k1")
	req := EvaluationsRequest{
		Evaluation:  Evaluation{Subject: &Subject{Type: "user", ID: "alice"}, Action: &Action{Name: "read"}},
		Evaluations: []Evaluation{{Resource: &Resource{Type: "doc", ID: "1"}}, {}},
		Semantic:    ExecuteAll,
	}
	res, err := c.Evaluations(context.Background(), req)
	if err != nil || len(res) != 2 || !res[0].Decision || res[1].Context == nil {
		t.Fatalf("results %+v, error %v", res, err)
	}
	var sent map[string]any
	_ = json.Unmarshal([]byte(f.lastBody.Load().(string)), &sent)
	if sent["subject"] == nil || sent["options"] == nil || len(sent["evaluations"].([]any)) != 2 {
		t.Errorf("sent %v", sent)
	}
	if got := f.last.Load().Header.Get("X-API-Key"); got != "k1" {
		t.Errorf("X-API-Key %q", got)
	}

	_, single := newFake(t, `{"decision":true}`, 200)
	res, err = single.Evaluations(context.Background(), EvaluationsRequest{Evaluation: req.Evaluation})
	if err != nil || len(res) != 1 || !res[0].Decision {
		t.Errorf("single: %+v %v", res, err)
	}
}

// WithAPIKeyHeader is the header setter WithAPIKey installs, for tests.
func WithAPIKeyHeader(key string) func(http.Header) {
	c := &Client{}
	WithAPIKey(key)(c)
	return c.pepAuth
}

func TestNewRejectsBadURLs(t *testing.T) {
	for _, u := range []string{"", "localhost:8181", "ftp://x", "http://"} {
		if _, err := New(u); err == nil {
			t.Errorf("New(%q) succeeded", u)
		}
	}
}

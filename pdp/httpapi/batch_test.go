package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/request"
)

func TestRunBatch(t *testing.T) {
	tests := []struct {
		name   string
		allows []bool
		sem    evalSemantic
		want   int
	}{
		{name: "execute_all answers every item", allows: []bool{true, false, true}, sem: executeAll, want: 3},
		{name: "deny_on_first_deny stops at the first deny", allows: []bool{true, true, false, true, false}, sem: denyOnFirstDeny, want: 3},
		{name: "deny_on_first_deny without a deny", allows: []bool{true, true}, sem: denyOnFirstDeny, want: 2},
		{name: "permit_on_first_permit stops at the first permit", allows: []bool{false, false, true, true}, sem: permitOnFirstPermit, want: 3},
		{name: "permit_on_first_permit on the first item", allows: []bool{true, false}, sem: permitOnFirstPermit, want: 1},
		{name: "permit_on_first_permit without a permit", allows: []bool{false, false}, sem: permitOnFirstPermit, want: 2},
		{name: "one item", allows: []bool{false}, sem: denyOnFirstDeny, want: 1},
	}
	for _, tt := range tests {
		for _, limit := range []int{1, 2, 8} {
			t.Run(tt.name, func(t *testing.T) {
				// Later items finish first, so a short-circuit must still pick the first
				// deciding item in request order.
				got := runBatch(context.Background(), len(tt.allows), limit, tt.sem, func(_ context.Context, i int) bool {
					time.Sleep(time.Duration(len(tt.allows)-i) * time.Millisecond)
					return tt.allows[i]
				})
				if got != tt.want {
					t.Errorf("limit %d: answered %d items, want %d", limit, got, tt.want)
				}
			})
		}
	}
}

// TestRunBatchBoundsConcurrency checks the in-flight bound and that a sequential short-circuit
// skips the items after the deciding one.
func TestRunBatchBoundsConcurrency(t *testing.T) {
	var inFlight, peak atomic.Int32
	var mu sync.Mutex
	seen := map[int]bool{}
	runBatch(context.Background(), 50, 3, executeAll, func(_ context.Context, i int) bool {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(time.Millisecond)
		mu.Lock()
		seen[i] = true
		mu.Unlock()
		return true
	})
	if p := peak.Load(); p > 3 || p < 1 {
		t.Errorf("peak concurrency %d, want at most 3", p)
	}
	if len(seen) != 50 {
		t.Errorf("evaluated %d items, want 50", len(seen))
	}

	var evaluated atomic.Int32
	n := runBatch(context.Background(), 10, 1, denyOnFirstDeny, func(_ context.Context, i int) bool {
		evaluated.Add(1)
		return i != 2
	})
	if n != 3 || evaluated.Load() != 3 {
		t.Errorf("answered %d and evaluated %d items, want 3 and 3", n, evaluated.Load())
	}
}

// TestRunBatchPanicReachesCaller: a panic in an item's goroutine does not kill the process and
// is not answered as a decision; it surfaces in the caller's goroutine, where the recovery
// middleware logs it and answers 500.
func TestRunBatchPanicReachesCaller(t *testing.T) {
	defer func() {
		if v := recover(); v == nil || !strings.Contains(fmt.Sprint(v), "boom") {
			t.Errorf("recovered %v, want the item's panic", v)
		}
	}()
	runBatch(context.Background(), 3, 2, executeAll, func(_ context.Context, i int) bool {
		if i == 1 {
			panic("boom")
		}
		return true
	})
	t.Error("runBatch returned after an item panicked")
}

// TestBatchWithinWriteTimeout: items that could only finish after server.write_timeout (when the
// answer can no longer be written) are denied with the deadline, not evaluated for nobody.
func TestBatchWithinWriteTimeout(t *testing.T) {
	s := newTestServer(t, func(c *config.Config) { c.Server.WriteTimeout = time.Nanosecond })
	body := `{"evaluations":[{"action":"read","resource":` + record1 + `},{"action":"read","resource":` + record1 + `}]}`
	rec := send(t, s, http.MethodPost, "/v1/authorize/batch", body, "Authorization", "Bearer alice-token")
	if rec.Code != 200 {
		t.Fatalf("status %d; body %s", rec.Code, rec.Body)
	}
	items, _ := jsonBody(t, rec)["evaluations"].([]any)
	if len(items) != 2 {
		t.Fatalf("%d items, want 2: %s", len(items), rec.Body)
	}
	for i, it := range items {
		item := it.(map[string]any)
		if item["allow"] != false || item["error"] == nil {
			t.Errorf("item %d: %v, want a deny with an error", i, item)
		}
	}
}

func TestNativeBatch(t *testing.T) {
	s := newTestServer(t, func(c *config.Config) { c.Server.MaxBatch = 3 })
	auth := []string{"Authorization", "Bearer alice-token"}
	// The native API takes resource properties from the request only.
	archived := `{"type":"record","id":"record-2","properties":{"status":"archived"}}`
	tests := []struct {
		name    string
		headers []string
		body    string
		status  int
		allows  []any
		errors  []string // the error code of each item, "" for none
	}{
		{name: "items in order", headers: auth, status: 200,
			body:   `{"evaluations":[{"action":"read","resource":` + record1 + `},{"action":{"name":"write"},"resource":` + archived + `}]}`,
			allows: []any{true, false}, errors: []string{"", ""}},
		{name: "deny_on_first_deny", headers: auth, status: 200,
			body: `{"options":{"evaluations_semantic":"deny_on_first_deny"},"evaluations":[` +
				`{"action":"write","resource":` + archived + `},{"action":"read","resource":` + record1 + `}]}`,
			allows: []any{false}, errors: []string{""}},
		{name: "permit_on_first_permit", headers: auth, status: 200,
			body: `{"options":{"evaluations_semantic":"permit_on_first_permit"},"evaluations":[` +
				`{"action":"write","resource":` + archived + `},{"action":"read","resource":` + record1 + `},{"action":"read","resource":` + record1 + `}]}`,
			allows: []any{false, true}, errors: []string{"", ""}},
		{name: "an invalid item is an error item", headers: auth, status: 200,
			body:   `{"evaluations":[{"action":"read"},{"action":7,"resource":` + record1 + `},{"action":"explode","resource":` + record1 + `}]}`,
			allows: []any{false, false, false}, errors: []string{CodeInvalidRequest, CodeInvalidRequest, CodeEvaluationFailed}},
		{name: "an item without resource.id is an error item", headers: auth, status: 200,
			body:   `{"evaluations":[{"action":"read","resource":{"type":"record"}},{"action":"read","resource":` + record1 + `}]}`,
			allows: []any{false, true}, errors: []string{CodeInvalidRequest, ""}},
		{name: "the subject comes from the token", headers: []string{"Authorization", "Bearer bob-token"}, status: 200,
			body:   `{"evaluations":[{"subject":{"type":"user","id":"alice"},"action":"write","resource":` + record1 + `}]}`,
			allows: []any{false}, errors: []string{""}},
		{name: "no token", status: 401, body: `{"evaluations":[{"action":"read","resource":` + record1 + `}]}`},
		{name: "no items", headers: auth, status: 400, body: `{"evaluations":[]}`},
		{name: "over the limit", headers: auth, status: 400,
			body: `{"evaluations":[{"action":"read"},{"action":"read"},{"action":"read"},{"action":"read"}]}`},
		{name: "unknown semantic", headers: auth, status: 400,
			body: `{"options":{"evaluations_semantic":"all"},"evaluations":[{"action":"read","resource":` + record1 + `}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := send(t, s, http.MethodPost, "/v1/authorize/batch", tt.body, tt.headers...)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			if tt.status != 200 {
				return
			}
			items, _ := jsonBody(t, rec)["evaluations"].([]any)
			if len(items) != len(tt.allows) {
				t.Fatalf("%d items, want %d: %s", len(items), len(tt.allows), rec.Body)
			}
			for i, it := range items {
				item := it.(map[string]any)
				errObj, _ := item["error"].(map[string]any)
				code, _ := errObj["code"].(string)
				if item["allow"] != tt.allows[i] || code != tt.errors[i] {
					t.Errorf("item %d: %v, want allow %v and error %q", i, item, tt.allows[i], tt.errors[i])
				}
				if id, _ := item["decision_id"].(string); (code == CodeInvalidRequest) != (id == "") {
					t.Errorf("item %d: decision_id %q with error %q", i, id, code)
				}
				if code == "" && item["revision"] != "standard-1" {
					t.Errorf("item %d: revision %v", i, item["revision"])
				}
			}
		})
	}
}

// BenchmarkAuthorizeBatch is a batch of 10 native requests for one token, repeated, so its
// items are answered from the decision cache: the cost of the batch machinery itself.
func BenchmarkAuthorizeBatch(b *testing.B) {
	f := newFixture(b, true)
	tok := f.token(b, nil)
	items := make([]string, 10)
	for i := range items {
		items[i] = strings.Replace(readInternal, `"id":"d1"`, fmt.Sprintf(`"id":"d%d"`, i), 1)
	}
	body := `{"evaluations":[` + strings.Join(items, ",") + `]}`
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/v1/authorize/batch", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		f.srv.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// FuzzParseSemantic feeds options members, seeded from the golden AuthZEN cases, through the
// batch options parsing (it was part of FuzzAuthZENRequest before the AuthZEN model moved to
// pdp/request): nothing panics, and an accepted semantic is one of the three.
func FuzzParseSemantic(f *testing.F) {
	for _, tc := range goldenCases(f) {
		if wire, err := request.DecodeAuthZEN(tc.Body); err == nil {
			f.Add([]byte(wire.Options))
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		sem, err := parseSemantic(raw)
		if err == nil && sem != executeAll && sem != denyOnFirstDeny && sem != permitOnFirstPermit {
			t.Fatalf("parseSemantic(%q) = %q", raw, sem)
		}
	})
}

package tests

import (
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is an OTLP/HTTP trace endpoint (POST /v1traces, protobuf) that keeps every span
// it is sent, with the service.name of its resource.
type otlpReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	spans    []*tracepb.Span
	services []string
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	rcv := &otlpReceiver{}
	rcv.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		var req coltracepb.ExportTraceServiceRequest
		if err != nil || r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
			http.Error(w, "bad export", http.StatusBadRequest)
			return
		}
		rcv.mu.Lock()
		for _, rs := range req.GetResourceSpans() {
			for _, a := range rs.GetResource().GetAttributes() {
				if a.GetKey() == "service.name" {
					rcv.services = append(rcv.services, a.GetValue().GetStringValue())
				}
			}
			for _, ss := range rs.GetScopeSpans() {
				rcv.spans = append(rcv.spans, ss.GetSpans()...)
			}
		}
		rcv.mu.Unlock()
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(rcv.Close)
	return rcv
}

// trace waits until the spans of traceID include every name in names, and returns them by name.
func (rcv *otlpReceiver) trace(t *testing.T, traceID string, names ...string) map[string]*tracepb.Span {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := map[string]*tracepb.Span{}
		rcv.mu.Lock()
		for _, s := range rcv.spans {
			if hex.EncodeToString(s.GetTraceId()) == traceID {
				got[s.GetName()] = s
			}
		}
		rcv.mu.Unlock()
		missing := 0
		for _, n := range names {
			if got[n] == nil {
				missing++
			}
		}
		if missing == 0 {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("trace %s has spans %v, want %v", traceID, keys(got), names)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func keys(m map[string]*tracepb.Span) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestTracing runs the binary with tracing on, exporting to an OTLP/HTTP receiver, and checks
// the spans of one decision on an opaque token: the server span continues the caller's
// traceparent; token verification (with the introspection call and the revocation check under
// it) and the evaluation are its children; nothing carries the token.
func TestTracing(t *testing.T) {
	rcv := newOTLPReceiver(t)
	as := newIntrospectionServer(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rcv.URL)
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
	t.Setenv("OTEL_SERVICE_NAME", "verdict-e2e")
	inst, _ := startWithIssuer(t, fmt.Sprintf(`  introspection:
    url: %s
    client_id: %q
    client_secret: %q
    issuer: %s
    audiences: [verdict]
tracing:
  enabled: true
`, as.URL, e2eClientID, e2eSecret, e2eIssuer))
	const tok = "opaque-traced-token"
	as.answer(tok, fmt.Sprintf(`{"active":true,"iss":%q,"aud":"verdict","sub":"olivia","exp":%d,"client_id":"svc",`+
		`"roles":["editor"],"tenant":"acme"}`, e2eIssuer, time.Now().Add(10*time.Minute).Unix()))
	const callerTrace, callerSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	resp := do(t, http.MethodPost, inst.URL+"/v1/authorize",
		strings.NewReader(`{"action":"read","resource":`+doc("acme", "bob", "internal")+`}`),
		"Content-Type", "application/json", "Authorization", "Bearer "+tok,
		"traceparent", "00-"+callerTrace+"-"+callerSpan+"-01")
	if resp.Status != http.StatusOK {
		t.Fatalf("status %d: %s", resp.Status, resp.Body)
	}
	spans := rcv.trace(t, callerTrace, "POST /v1/authorize", "verdict.token.verify", "POST",
		"verdict.token.revocation_check", "verdict.policy.eval")
	id := func(name string) string { return hex.EncodeToString(spans[name].GetSpanId()) }
	for _, tc := range []struct{ name, parent string }{
		{name: "POST /v1/authorize", parent: callerSpan},
		{name: "verdict.token.verify", parent: id("POST /v1/authorize")},
		{name: "POST", parent: id("verdict.token.verify")}, // the introspection call
		{name: "verdict.token.revocation_check", parent: id("verdict.token.verify")},
		{name: "verdict.policy.eval", parent: id("POST /v1/authorize")},
	} {
		if got := hex.EncodeToString(spans[tc.name].GetParentSpanId()); got != tc.parent {
			t.Errorf("%s: parent %s, want %s", tc.name, got, tc.parent)
		}
	}
	if k := spans["POST /v1/authorize"].GetKind(); k != tracepb.Span_SPAN_KIND_SERVER {
		t.Errorf("server span kind %v", k)
	}
	if k := spans["POST"].GetKind(); k != tracepb.Span_SPAN_KIND_CLIENT {
		t.Errorf("introspection span kind %v", k)
	}
	for name, s := range spans {
		for _, a := range s.GetAttributes() {
			if strings.Contains(a.GetValue().String(), tok) {
				t.Errorf("span %s carries the token in %s", name, a.GetKey())
			}
		}
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.services) == 0 || rcv.services[0] != "verdict-e2e" {
		t.Errorf("service.name %v, want verdict-e2e (OTEL_SERVICE_NAME)", rcv.services)
	}
}

package decisionlog

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// TestAppendEventMatchesEvent: the hand-written encoding is the JSON of Event, member for
// member, whichever optional fields a record has and whatever its strings hold.
func TestAppendEventMatchesEvent(t *testing.T) {
	at := time.Date(2026, 12, 6, 23, 0, 0, 123456789, time.FixedZone("x", 3600))
	input := map[string]any{"subject": map[string]any{"id": "alice"}, "n": 1.5}
	result := map[string]any{"allow": true, "reasons": []any{"ok"}}
	for _, tc := range []struct {
		name string
		rec  Record
	}{
		{"minimal", Record{Time: at, DecisionID: "d1", Path: "verdict/authz/decision"}},
		{"every field", Record{
			Time: at, DecisionID: "d1", RequestID: "r1", Span: testSpan(t), Path: "verdict/authz/decision", API: "/v1/authorize",
			Revision: "sha256:00fb", Input: input, Result: result, Duration: 1234567,
		}},
		{"shared encodings", Record{Time: at, DecisionID: "d1", Path: "p", Input: EncodeOnce(input), Result: EncodeOnce(result)}},
		{"nil shared encodings", Record{Time: at, DecisionID: "d1", Path: "p", Input: (*Once)(nil), Result: (*Once)(nil)}},
		{"error only", Record{Time: at, DecisionID: "d1", Path: "p", Input: input, Error: "policy_error"}},
		{"strings to escape", Record{
			Time: at, DecisionID: "d\"1\\", RequestID: "r\n<script>&\u00e9\x01", Path: "p/\u2028", API: "\xff",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			labels := map[string]string{"id": "i", "version": "1.2.3"}
			lb, _ := json.Marshal(labels)
			got, err := appendEvent([]byte("prefix"), &tc.rec, lb)
			if err != nil {
				t.Fatal(err)
			}
			if string(got[:6]) != "prefix" {
				t.Fatalf("prefix overwritten: %q", got)
			}
			want, err := json.Marshal(eventOf(&tc.rec, labels))
			if err != nil {
				t.Fatal(err)
			}
			var g, w any
			if err := json.Unmarshal(got[6:], &g); err != nil {
				t.Fatalf("%s: %v", got[6:], err)
			}
			_ = json.Unmarshal(want, &w)
			if !reflect.DeepEqual(g, w) {
				t.Errorf("got  %s\nwant %s", got[6:], want)
			}
		})
	}
}

// eventOf is r's Event as encoding/json would write it.
func eventOf(r *Record, labels map[string]string) Event {
	e := Event{
		Labels: labels, DecisionID: r.DecisionID,
		Revision: r.Revision, Path: r.Path, Input: r.Input, Result: r.Result,
		Timestamp: r.Time.UTC(), Metrics: Metrics{TimerServerHandlerNS: r.Duration.Nanoseconds()},
		Verdict: Extra{RequestID: r.RequestID, API: r.API, Error: r.Error},
	}
	if r.Span.IsValid() {
		e.TraceID, e.SpanID = r.Span.TraceID().String(), r.Span.SpanID().String()
	}
	if o, ok := r.Input.(*Once); ok && o == nil {
		e.Input = nil // a nil shared encoding is left out, as no input
	}
	if o, ok := r.Result.(*Once); ok && o == nil {
		e.Result = nil
	}
	if r.Revision != "" {
		e.Bundles = map[string]BundleInfo{bundleName: {Revision: r.Revision}}
	}
	return e
}

// testSpan is a traced request's span context.
func testSpan(t *testing.T) trace.SpanContext {
	t.Helper()
	id, err := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	if err != nil {
		t.Fatal(err)
	}
	span, err := trace.SpanIDFromHex("00f067aa0ba902b7")
	if err != nil {
		t.Fatal(err)
	}
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: id, SpanID: span})
}

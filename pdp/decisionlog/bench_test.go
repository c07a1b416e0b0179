package decisionlog

import (
	"testing"
	"time"
)

// BenchmarkEncode is the log's work per record besides the sink: building and encoding the
// event of a decision whose input and result were encoded before (a reused decision).
func BenchmarkEncode(b *testing.B) {
	l := &Logger{labels: map[string]string{"id": "i", "version": "dev"}, deps: Deps{Logger: discard}}
	in, res := EncodeOnce(map[string]any{
		"subject":  map[string]any{"type": "user", "id": "alice", "properties": map[string]any{"roles": []any{"editor"}}},
		"action":   map[string]any{"name": "read"},
		"resource": map[string]any{"type": "document", "id": "d1"},
	}), EncodeOnce(map[string]any{"allow": true, "reasons": []any{"rbac: role editor grants read on document"}})
	r := Record{Time: time.Now(), DecisionID: "f65e567e5218d664b8f60992080f725d", RequestID: "r", Path: "verdict/authz/decision",
		API: "/v1/authorize", Revision: "sha256:00fb0319d223", Input: in, Result: res, Allow: true, Duration: time.Millisecond}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := l.encode(&r); !ok {
			b.Fatal("not encoded")
		}
	}
}

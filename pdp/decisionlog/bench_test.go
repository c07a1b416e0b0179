package decisionlog

import (
	"compress/gzip"
	"fmt"
	"testing"
	"time"
)

// BenchmarkEncode is the log's work per record besides the sink: building and encoding the
// event of a decision. "shared" is a decision reused from the decision cache, whose input and
// result were encoded for an earlier record (Once); "each" encodes them for every record, what
// keeping only the input in the cached outcome would cost.
func BenchmarkEncode(b *testing.B) {
	input := map[string]any{
		"subject": map[string]any{"type": "user", "id": "alice", "properties": map[string]any{
			"roles": []any{"editor"}, "tenant": "acme", "amr": []any{"pwd", "otp"}, "client_id": "web"}},
		"action":   map[string]any{"name": "read"},
		"resource": map[string]any{"type": "document", "id": "d1", "properties": map[string]any{"tenant": "acme", "owner": "bob"}},
		"token": map[string]any{"kind": "jwt", "issuer": "https://idp", "claims": map[string]any{
			"iss": "https://idp", "sub": "alice", "aud": "verdict", "exp": 1700000000, "roles": []any{"editor"}}},
	}
	result := map[string]any{"allow": true, "reasons": []any{"rbac: role editor grants read on document"}, "obligations": []any{}}
	for _, bc := range []struct {
		name          string
		input, result any
	}{
		{"shared", EncodeOnce(input), EncodeOnce(result)},
		{"each", input, result},
	} {
		b.Run(bc.name, func(b *testing.B) {
			l := &Logger{labels: []byte(`{"id":"i","version":"dev"}`), deps: Deps{Logger: discard}, counts: &counters{}}
			r := Record{Time: time.Now(), DecisionID: "f65e567e5218d664b8f60992080f725d", RequestID: "r",
				Path: "verdict/authz/decision", API: "/v1/authorize", Revision: "sha256:00fb0319d223",
				Input: bc.input, Result: bc.result, Allow: true, Duration: time.Millisecond}
			var scratch []byte // reused, as Logger.run does
			b.ReportAllocs()
			for b.Loop() {
				var ok bool
				if scratch, ok = l.encode(scratch[:0], &r); !ok {
					b.Fatal("not encoded")
				}
			}
		})
	}
}

// BenchmarkGzipArray is the http sink's compression of a batch, per record, at the levels
// worth considering: it reports the compressed bytes per record beside the CPU.
func BenchmarkGzipArray(b *testing.B) {
	input := EncodeOnce(map[string]any{
		"subject":  map[string]any{"type": "user", "id": "alice", "properties": map[string]any{"roles": []any{"editor"}, "tenant": "acme"}},
		"action":   map[string]any{"name": "read"},
		"resource": map[string]any{"type": "document", "id": "d1", "properties": map[string]any{"tenant": "acme", "owner": "bob"}},
		"token":    map[string]any{"kind": "jwt", "issuer": "https://idp", "claims": map[string]any{"sub": "alice", "aud": "verdict", "exp": 1700000000}},
	})
	result := EncodeOnce(map[string]any{"allow": true, "reasons": []any{"rbac: role editor grants read on document"}})
	events := make([][]byte, 256)
	start := time.Now()
	for i := range events {
		r := Record{Time: start.Add(time.Duration(i) * 37 * time.Microsecond), DecisionID: fmt.Sprintf("%032x", i*7919+1),
			RequestID: fmt.Sprintf("%016x", i*104729), Path: "verdict/authz/decision", API: "/v1/authorize",
			Revision: "sha256:00fb0319d223", Input: input, Result: result, Allow: true, Duration: time.Duration(200+i) * time.Microsecond}
		var err error
		if events[i], err = appendEvent(nil, &r, []byte(`{"id":"i","version":"dev"}`)); err != nil {
			b.Fatal(err)
		}
	}
	for _, level := range []struct {
		name  string
		level int
	}{{"BestSpeed", gzip.BestSpeed}, {"HuffmanOnly", gzip.HuffmanOnly}} {
		for _, n := range []int{16, 256} {
			b.Run(fmt.Sprintf("%s/batch=%d", level.name, n), func(b *testing.B) {
				h := &httpSink{level: level.level}
				var size int
				b.ReportAllocs()
				for b.Loop() {
					body, err := h.gzipArray(events[:n])
					if err != nil {
						b.Fatal(err)
					}
					size = len(body)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
				b.ReportMetric(float64(size)/float64(n), "bytes/record")
			})
		}
	}
}

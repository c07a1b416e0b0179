package decisionlog

import (
	"encoding/hex"
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// Record is one decision as the request path hands it in. Input and Result are encoded off
// the request path, so they must not be changed after Log.
type Record struct {
	Time       time.Time
	DecisionID string
	RequestID  string
	// Span is the request's trace span, when it is traced: its ids are written in hex by the
	// log's goroutine, not on the request path.
	Span trace.SpanContext
	// Path is the data path of the decision (verdict/authz/decision), API the HTTP path it
	// was asked on.
	Path     string
	API      string
	Revision string
	// Input is the policy input as evaluated; nil when there was none.
	Input any
	// Result is the decision or query result; nil when there was none.
	Result any
	// Allow is whether the decision allowed: only an allow without Error may be sampled away.
	Allow bool
	// Error is the short error code of a failed decision; never a raw evaluation error.
	Error    string
	Duration time.Duration
}

// Event is one decision-log event: OPA's EventV1 (v1/plugins/logs) with Verdict's own fields
// under "verdict". It is the shape the log writes (by hand, appendEvent) and readers decode.
type Event struct {
	Labels      map[string]string     `json:"labels"`
	DecisionID  string                `json:"decision_id"`
	TraceID     string                `json:"trace_id,omitempty"`
	SpanID      string                `json:"span_id,omitempty"`
	Revision    string                `json:"revision,omitempty"`
	Bundles     map[string]BundleInfo `json:"bundles,omitempty"`
	Path        string                `json:"path"`
	Input       any                   `json:"input,omitempty"`
	Result      any                   `json:"result,omitempty"`
	Erased      []string              `json:"erased,omitempty"`
	Masked      []string              `json:"masked,omitempty"`
	RequestedBy string                `json:"requested_by,omitempty"`
	Timestamp   time.Time             `json:"timestamp"`
	Metrics     Metrics               `json:"metrics"`
	Verdict     Extra                 `json:"verdict"`
}

// Metrics are the event's timers, named as OPA names them.
type Metrics struct {
	TimerServerHandlerNS int64 `json:"timer_server_handler_ns"`
}

// BundleInfo is the revision of one bundle in an event.
type BundleInfo struct {
	Revision string `json:"revision,omitempty"`
}

// Extra is what Verdict adds to OPA's event.
type Extra struct {
	RequestID string `json:"request_id,omitempty"`
	API       string `json:"api,omitempty"`
	Error     string `json:"error,omitempty"`
}

// bundleName is the name of the one bundle Verdict serves, as engine activates it.
const bundleName = "verdict"

// appendEvent appends the event of r, encoded as JSON in the shape of Event, to b; labels is
// the event's labels, already encoded. The shape is fixed, so it is written by hand rather
// than through json.Marshal's reflection: this runs for every record. The input and result
// are spliced in as they encode (a shared Once is encoded once, not checked again per record).
func appendEvent(b []byte, r *Record, labels []byte) ([]byte, error) {
	input, err := encodeValue(r.Input)
	if err != nil {
		return b, err
	}
	result, err := encodeValue(r.Result)
	if err != nil {
		return b, err
	}
	b = append(append(b, `{"labels":`...), labels...)
	b = appendMember(b, "decision_id", r.DecisionID, true)
	if r.Span.IsValid() {
		id, span := r.Span.TraceID(), r.Span.SpanID()
		b = append(hex.AppendEncode(append(b, `,"trace_id":"`...), id[:]), `","span_id":"`...)
		b = append(hex.AppendEncode(b, span[:]), '"')
	}
	b = appendMember(b, "revision", r.Revision, false)
	if r.Revision != "" {
		b = appendString(append(b, `,"bundles":{"`+bundleName+`":{"revision":`...), r.Revision)
		b = append(b, "}}"...)
	}
	b = appendMember(b, "path", r.Path, true)
	if input != nil {
		b = append(append(b, `,"input":`...), input...)
	}
	if result != nil {
		b = append(append(b, `,"result":`...), result...)
	}
	b = append(b, `,"timestamp":"`...)
	b = append(r.Time.UTC().AppendFormat(b, time.RFC3339Nano), `","metrics":{"timer_server_handler_ns":`...)
	b = append(strconv.AppendInt(b, r.Duration.Nanoseconds(), 10), `},"verdict":{`...)
	n := len(b)
	b = appendMember(b, "request_id", r.RequestID, false)
	b = appendMember(b, "api", r.API, false)
	b = appendMember(b, "error", r.Error, false)
	if len(b) > n {
		// The first member's comma, which the object's brace stands for.
		b = append(b[:n], b[n+1:]...)
	}
	return append(b, "}}"...), nil
}

// appendMember appends `,"name":"value"`, or nothing when value is empty and not required.
func appendMember(b []byte, name, value string, required bool) []byte {
	if value == "" && !required {
		return b
	}
	b = append(append(append(b, `,"`...), name...), `":`...)
	return appendString(b, value)
}

// appendString appends s as a JSON string. Ids, paths, revisions and error codes are plain
// ASCII and are copied as they are; anything else is escaped by encoding/json.
func appendString(b []byte, s string) []byte {
	for i := range len(s) {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	return append(append(append(b, '"'), s...), '"')
}

// generic decodes an encoded event into plain JSON values (maps, slices, json.Number), a copy
// that masking may change without touching the decision or input it was made from, which
// other requests share.
func generic(event []byte) (map[string]any, error) {
	var m map[string]any
	return m, decodeNumbers(event, &m)
}

// Once is a value that many records may share, encoded for the log only once: the input and
// result of a decision reused from the decision cache. Its encoding happens off the request
// path, when the first record carrying it is written.
type Once struct {
	v    any
	once sync.Once
	b    []byte
	err  error
}

// EncodeOnce wraps v, which must not change afterwards.
func EncodeOnce(v any) *Once { return &Once{v: v} }

// MarshalJSON returns v's encoding, made on the first call; a nil Once is null.
func (o *Once) MarshalJSON() ([]byte, error) {
	if o == nil {
		return []byte("null"), nil
	}
	o.once.Do(func() { o.b, o.err = json.Marshal(o.v) })
	return o.b, o.err
}

// encodeValue encodes v, nil for nil; a Once gives its encoding made once.
func encodeValue(v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case *Once:
		if v == nil {
			return nil, nil
		}
		return v.MarshalJSON()
	}
	return json.Marshal(v)
}

package decisionlog

import (
	"encoding/json"
	"sync"
	"time"
)

// Record is one decision as the request path hands it in. Input and Result are encoded off
// the request path, so they must not be changed after Log.
type Record struct {
	Time       time.Time
	DecisionID string
	RequestID  string
	TraceID    string
	SpanID     string
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
// under "verdict".
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

// event builds the event of r.
func event(r *Record, labels map[string]string) Event {
	e := Event{
		Labels: labels, DecisionID: r.DecisionID, TraceID: r.TraceID, SpanID: r.SpanID,
		Revision: r.Revision, Path: r.Path, Input: r.Input, Result: r.Result,
		Timestamp: r.Time.UTC(), Metrics: Metrics{TimerServerHandlerNS: r.Duration.Nanoseconds()},
		Verdict: Extra{RequestID: r.RequestID, API: r.API, Error: r.Error},
	}
	if r.Revision != "" {
		e.Bundles = map[string]BundleInfo{bundleName: {Revision: r.Revision}}
	}
	return e
}

// generic turns e into plain JSON values (maps, slices, json.Number), a copy that masking may
// change without touching the decision or input it was made from, which other requests share.
func generic(e *Event) (map[string]any, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, decodeNumbers(b, &m)
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

// encodeEvent encodes e with its input and result spliced in as they are encoded, rather than
// through json.Marshal, which would check and compact a shared encoding again for every record.
func encodeEvent(e *Event) ([]byte, error) {
	input, err := encodeValue(e.Input)
	if err != nil {
		return nil, err
	}
	result, err := encodeValue(e.Result)
	if err != nil {
		return nil, err
	}
	rest := *e
	rest.Input, rest.Result = nil, nil
	tail, err := json.Marshal(&rest)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(input)+len(result)+len(tail)+20)
	b = append(b, '{')
	if input != nil {
		b = append(append(append(b, `"input":`...), input...), ',')
	}
	if result != nil {
		b = append(append(append(b, `"result":`...), result...), ',')
	}
	return append(b, tail[1:]...), nil
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

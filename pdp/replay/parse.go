package replay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/verdict-pdp/verdict/pdp/engine"
)

// record is one line read: the input as evaluated and, for a decision-log event, the logged
// allow.
type record struct {
	decisionID string
	in         *engine.Input
	// logged is the allow the event records; nil for a bare policy input.
	logged *bool
}

// event is the part of an OPA decision-log event replay reads.
type event struct {
	DecisionID string          `json:"decision_id"`
	Input      json.RawMessage `json:"input"`
	Result     json.RawMessage `json:"result"`
}

// parseLine reads a decision-log event, or a bare policy input when the line has no "input".
// Its error says what is wrong without quoting the line.
func parseLine(data []byte) (record, error) {
	var ev event
	if err := json.Unmarshal(data, &ev); err != nil {
		return record{}, errors.New("not a JSON object")
	}
	if ev.Input == nil {
		in, err := decodeInput(data)
		return record{in: in}, err
	}
	if ev.Result == nil || bytes.Equal(ev.Result, []byte("null")) {
		return record{}, errors.New("a decision-log event without a result to compare with")
	}
	allow, err := loggedAllow(ev.Result)
	if err != nil {
		return record{}, err
	}
	in, err := decodeInput(ev.Input)
	return record{decisionID: ev.DecisionID, in: in, logged: &allow}, err
}

// loggedAllow reads result.allow, or a bare boolean result.
func loggedAllow(raw json.RawMessage) (bool, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return false, errors.New("result is not JSON")
	}
	switch r := v.(type) {
	case bool:
		return r, nil
	case map[string]any:
		if allow, ok := r["allow"].(bool); ok {
			return allow, nil
		}
		return false, errors.New("result.allow is missing or not a boolean")
	default:
		return false, errors.New("result is neither an object nor a boolean")
	}
}

// decodeInput reads a policy input document, numbers kept as json.Number. The decision's
// instant is context.time when the input has one, so time.now_ns() reads as it did when
// the decision was logged.
func decodeInput(data []byte) (*engine.Input, error) {
	var in engine.Input
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&in); err != nil {
		return nil, fmt.Errorf("input is not a policy input document: %s", typeProblem(err))
	}
	if in.Action.Name == "" || in.Resource.Type == "" {
		return nil, errors.New("input lacks action.name or resource.type")
	}
	if s, ok := in.Context["time"].(string); ok {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			in.Now = t
		}
	}
	return &in, nil
}

// typeProblem names the member of the wrong type, without its value.
func typeProblem(err error) string {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) && typ.Field != "" {
		return typ.Field + " has the wrong JSON type"
	}
	return "malformed JSON"
}

package replay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
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

// event is the part of an OPA decision-log event replay reads. The input is decoded in the same
// pass as the event, not kept raw and decoded again.
type event struct {
	DecisionID string          `json:"decision_id"`
	Input      *loggedInput    `json:"input"`
	Result     json.RawMessage `json:"result"`
}

// loggedInput is a policy input document with its subject and token kept as JSON: a lineReader
// converts each distinct subject and token once.
type loggedInput struct {
	engine.Input
	Subject json.RawMessage `json:"subject"`
	Token   json.RawMessage `json:"token"`
}

// maxPrincipals bounds the principals a lineReader keeps; it forgets them all when full. A
// principal holds its subject and token twice (as Go and as policy values), tens of KB with a
// large token, so a worker keeps some megabytes of them at most; a log cycling through more
// distinct subjects than this converts each on every line, as without it.
const maxPrincipals = 512

// lineReader reads lines for one worker. It keeps the subjects and tokens it has converted to
// policy values (engine.Principal), keyed by their JSON, so a subject seen on many lines is
// converted once, as the server converts a cached token's subject once.
type lineReader struct {
	principals map[string]*engine.Principal
	key        []byte
}

func newLineReader() *lineReader {
	return &lineReader{principals: make(map[string]*engine.Principal)}
}

// parseLine reads a decision-log event, or a bare policy input when the line has no "input".
// Its error says what is wrong without quoting the line.
func (lr *lineReader) parseLine(data []byte) (record, error) {
	var ev event
	inputErr, err := inputProblem(decode(data, &ev))
	if err != nil {
		return record{}, errors.New("not a JSON object")
	}
	if ev.Input == nil && inputErr == nil {
		in, err := lr.decodeInput(data)
		return record{in: in}, err
	}
	if ev.Result == nil || bytes.Equal(ev.Result, []byte("null")) {
		return record{}, errors.New("a decision-log event without a result to compare with")
	}
	allow, err := loggedAllow(ev.Result)
	if err != nil {
		return record{}, err
	}
	if inputErr != nil {
		return record{}, inputErr
	}
	in, err := lr.input(ev.Input)
	return record{decisionID: ev.DecisionID, in: in, logged: &allow}, err
}

// input completes li with its subject and token, converted once per distinct JSON, and checks it.
func (lr *lineReader) input(li *loggedInput) (*engine.Input, error) {
	in := &li.Input
	lr.key = append(append(append(lr.key[:0], li.Subject...), 0), li.Token...)
	if p, ok := lr.principals[string(lr.key)]; ok {
		in.SetPrincipal(p)
		return checkInput(in)
	}
	if err := decodeMember("subject", li.Subject, &in.Subject); err != nil {
		return nil, err
	}
	if !isNull(li.Token) {
		in.Token = new(engine.Token)
		if err := decodeMember("token", li.Token, in.Token); err != nil {
			return nil, err
		}
	}
	// A subject or token the engine refuses is left for Decide to report, as for any input.
	if p, err := engine.NewPrincipal(in.Subject, in.Token); err == nil {
		if len(lr.principals) >= maxPrincipals {
			clear(lr.principals)
		}
		lr.principals[string(lr.key)] = p
		in.SetPrincipal(p)
	}
	return checkInput(in)
}

// decodeMember decodes the input member name from raw into v; a missing or null member leaves v
// as it is.
func decodeMember(name string, raw json.RawMessage, v any) error {
	if isNull(raw) {
		return nil
	}
	err := decode(raw, v)
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		typ.Field = strings.TrimSuffix(name+"."+typ.Field, ".")
	}
	if err != nil {
		return notInput(err)
	}
	return nil
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// inputProblem separates an event's decoding error into a problem with its input member (a
// member of the wrong type within it), reported as decodeInput reports it, and any other.
func inputProblem(err error) (inputErr, other error) {
	var typ *json.UnmarshalTypeError
	if err == nil || !errors.As(err, &typ) || (typ.Field != "input" && !strings.HasPrefix(typ.Field, "input.")) {
		return nil, err
	}
	typ.Field = strings.TrimPrefix(strings.TrimPrefix(typ.Field, "input"), ".")
	return notInput(typ), nil
}

// loggedAllow reads result.allow, or a bare boolean result. raw is valid JSON (the line was
// decoded); only the top level is decoded, not the reasons and the rest.
func loggedAllow(raw json.RawMessage) (bool, error) {
	switch string(raw) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	var r map[string]json.RawMessage
	if err := json.Unmarshal(raw, &r); err != nil {
		return false, errors.New("result is neither an object nor a boolean")
	}
	switch string(r["allow"]) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	default:
		return false, errors.New("result.allow is missing or not a boolean")
	}
}

// decodeInput reads a bare policy input document, numbers kept as json.Number.
func (lr *lineReader) decodeInput(data []byte) (*engine.Input, error) {
	var li loggedInput
	if err := decode(data, &li); err != nil {
		return nil, notInput(err)
	}
	return lr.input(&li)
}

// decode reads the one JSON value of data into v, numbers kept as json.Number; anything after
// the value but white space is an error, as with json.Unmarshal.
func decode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON value")
	}
	return nil
}

// notInput is the problem of an input document that could not be decoded.
func notInput(err error) error {
	return fmt.Errorf("input is not a policy input document: %s", typeProblem(err))
}

// checkInput checks that in names an action and a resource type, and takes the decision's
// instant from context.time when the input has one, so time.now_ns() reads as it did when the
// decision was logged.
func checkInput(in *engine.Input) (*engine.Input, error) {
	if in.Action.Name == "" || in.Resource.Type == "" {
		return nil, errors.New("input lacks action.name or resource.type")
	}
	if s, ok := in.Context["time"].(string); ok {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			in.Now = t
		}
	}
	return in, nil
}

// typeProblem names the member of the wrong type, without its value. encoding/json names a
// member of loggedInput's embedded engine.Input "Input.<member>".
func typeProblem(err error) string {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) && typ.Field != "" {
		return strings.TrimPrefix(typ.Field, "Input.") + " has the wrong JSON type"
	}
	return "malformed JSON"
}

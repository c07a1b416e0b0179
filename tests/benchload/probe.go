package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// probeCase is one request a server must answer as the small policy does before it is measured.
type probeCase struct {
	name   string
	who    profile
	body   string
	forged bool // signed by a key the server does not know
	allow  bool
}

var (
	editor    = profile{sub: "probe-editor", tenant: "acme", roles: []string{"editor"}, amr: []string{"pwd", "otp"}}
	noMFA     = profile{sub: "probe-pwd", tenant: "acme", roles: []string{"viewer"}, amr: []string{"pwd"}}
	stranger  = profile{sub: "probe-globex", tenant: "globex", roles: []string{"editor"}, amr: []string{"pwd", "otp"}}
	roleless  = profile{sub: "probe-guest", tenant: "acme", roles: []string{"guest"}, amr: []string{"pwd", "otp"}}
	allowCase = probeCase{name: "editor reads doc-1", who: editor, body: bodies[0], allow: true}
)

// smallCases pin the small policy's decisions, the same for Verdict and for OPA, and that a
// token signed by an unknown key is refused.
var smallCases = []probeCase{
	allowCase,
	{name: "other tenant", who: stranger, body: bodies[0]},
	{name: "no role grants read", who: roleless, body: bodies[0]},
	{name: "bad ip reputation", who: editor, body: bodies[3]},
	{name: "suspicious ip without mfa", who: noMFA, body: bodies[1]},
	{name: "new device without mfa", who: noMFA, body: bodies[2], allow: true},
	{name: "token signed by an unknown key", who: editor, body: bodies[0], forged: true},
}

// probeModes say which requests each kind of server gets and which cases it must pass.
var probeModes = map[string][]probeCase{
	"verdict":         smallCases,
	"opa":             smallCases,
	"floor":           {allowCase},
	"floor-rs256":     {allowCase, {name: "token signed by an unknown key", who: editor, body: bodies[0], forged: true}},
	"verdict-batch":   {allowCase},
	"verdict-builtin": {allowCase},
	"opa-builtin":     {allowCase},
}

// runProbe sends each case of -mode to -url and fails unless every answer is the expected
// decision: an allow that is not a 200 allow, or a deny answered allow, stops the run before a
// misconfigured server can pass as fast.
func runProbe(args []string) error {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	url := fs.String("url", "", "server base URL (loopback)")
	dir := fs.String("dir", "", "directory gen wrote (key.pem)")
	issuer := fs.String("issuer", "", "iss of the tokens")
	mode := fs.String("mode", "", "verdict, verdict-batch, verdict-builtin (built-in policy), opa, opa-builtin, floor or floor-rs256")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cases, ok := probeModes[*mode]
	if !ok || *url == "" {
		return fmt.Errorf("-url and a known -mode are required")
	}
	key, err := loadKey(*dir)
	if err != nil {
		return err
	}
	forger, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 10 * time.Second}
	var failed []error
	for _, c := range cases {
		signer := key
		if c.forged {
			signer = forger
		}
		allow, err := probeOnce(client, *mode, *url, *issuer, signer, c)
		if err == nil && allow != c.allow {
			err = fmt.Errorf("allow %t, want %t", allow, c.allow)
		}
		if err != nil {
			failed = append(failed, fmt.Errorf("%s: %s: %w", *mode, c.name, err))
		}
	}
	if len(failed) > 0 {
		return errors.Join(failed...)
	}
	fmt.Printf("probe %s: %d answers as expected\n", *mode, len(cases))
	return nil
}

// probeOnce sends c and returns the decision: a 401 is a deny, another non-200 an error.
func probeOnce(client *http.Client, mode, url, issuer string, key *rsa.PrivateKey, c probeCase) (bool, error) {
	claims := c.who.claims(issuer, time.Now())
	tok, err := mint(key, claims)
	if err != nil {
		return false, err
	}
	path, body, bearer := "/v1/authorize", c.body, true
	switch mode {
	case "verdict-batch":
		path, body = "/v1/authorize/batch", `{"evaluations":[`+c.body+`,`+c.body+`]}`
	case "opa":
		path, body, bearer = "/v1/data/bench/opa/decision", `{"input":{"token":"`+tok+`",`+c.body[1:]+`}`, false
	case "opa-builtin":
		frag, err := subjectFragment(issuer, claims)
		if err != nil {
			return false, err
		}
		path, body, bearer = "/v1/data/verdict/authz/decision", opaPolicyInput(frag, c.body, time.Now()), false
	}
	req, err := http.NewRequest(http.MethodPost, url+path, strings.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return false, err
	}
	if resp.StatusCode == http.StatusUnauthorized && bearer {
		return false, nil
	}
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("status %d: %s", resp.StatusCode, bytes.TrimSpace(raw))
	}
	return decodeAllow(mode, raw)
}

// opaPolicyInput is the OPA input for the built-in policy: the subject and token Verdict would
// build, the body, and context.time, which Verdict sets from its own clock.
func opaPolicyInput(frag, body string, now time.Time) string {
	withTime := strings.Replace(body, `"context":{`, `"context":{"time":"`+now.UTC().Format(time.RFC3339)+`",`, 1)
	return `{"input":{` + frag + `,` + withTime[1:] + `}`
}

// decodeAllow reads allow from Verdict's answer, OPA's {"result": ...} or a batch's
// evaluations (every one must allow).
func decodeAllow(mode string, raw []byte) (bool, error) {
	var ans struct {
		Allow       *bool                   `json:"allow"`
		Result      struct{ Allow *bool }   `json:"result"`
		Evaluations []struct{ Allow *bool } `json:"evaluations"`
	}
	if err := json.Unmarshal(raw, &ans); err != nil {
		return false, err
	}
	allow := ans.Allow
	switch mode {
	case "opa", "opa-builtin":
		allow = ans.Result.Allow
	case "verdict-batch":
		if len(ans.Evaluations) != 2 {
			return false, fmt.Errorf("%d evaluations, want 2", len(ans.Evaluations))
		}
		for _, e := range ans.Evaluations {
			if e.Allow == nil || !*e.Allow {
				return false, nil
			}
		}
		return true, nil
	}
	if allow == nil {
		return false, fmt.Errorf("no allow in %s", bytes.TrimSpace(raw))
	}
	return *allow, nil
}

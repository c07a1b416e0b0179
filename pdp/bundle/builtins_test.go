package bundle

import (
	"context"
	"errors"
	"testing"
)

// TestDeniedBuiltins: `verdict test` and `verdict bundle build` refuse a policy that calls a
// builtin reaching outside Verdict, as activation does, unless it is opted in.
func TestDeniedBuiltins(t *testing.T) {
	tests := []struct {
		name    string
		rego    string
		allow   []string
		wantErr error
	}{
		{name: "http.send", rego: "leak := http.send({\"method\": \"GET\", \"url\": \"http://127.0.0.1:1/\"})\n", wantErr: ErrDeniedBuiltin},
		{name: "http.send as a statement", rego: "leak if {\n\thttp.send({\"method\": \"GET\", \"url\": \"http://127.0.0.1:1/\"}, resp)\n\tresp.status_code == 200\n}\n", wantErr: ErrDeniedBuiltin},
		{name: "json.match_schema reads $refs", rego: "ok := json.match_schema({}, {\"$ref\": \"file:///etc/verdict.json\"})\n", wantErr: ErrDeniedBuiltin},
		{name: "opted in", rego: "leak := http.send({\"method\": \"GET\", \"url\": \"http://127.0.0.1:1/\", \"raise_error\": false})\n", allow: []string{"http.send"}},
		{name: "clock and randomness", rego: "now := time.now_ns()\n\nn := rand.intn(\"x\", 10)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeDir(t, map[string]string{
				"p.rego":      "package p\n\n" + tt.rego,
				"p_test.rego": "package p_test\n\ntest_true if true\n",
			})
			_, err := Build([]string{dir}, BuildOptions{MaxBytes: 1 << 20, AllowBuiltins: tt.allow})
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Build error = %v, want %v", err, tt.wantErr)
			}
			_, err = RunTests(context.Background(), []string{dir}, TestOptions{AllowBuiltins: tt.allow})
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("RunTests error = %v, want %v", err, tt.wantErr)
			}
		})
	}
	if _, err := NewBuiltins([]string{"io.jwt.decode"}); err == nil {
		t.Error("NewBuiltins accepted a builtin Verdict does not deny")
	}
}

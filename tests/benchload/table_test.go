package main

import (
	"strings"
	"testing"
)

func TestTable(t *testing.T) {
	tests := []struct {
		name    string
		results string
		want    []string // substrings of the output, in order
		wantErr bool
	}{
		{
			name: "ratios against floor and OPA, rows in workload order",
			results: "W1\tVerdict\t1\tRESULT 2000 2.000 5000 9000 0\n" +
				"W1\tfloor\t1\tRESULT 10000 2.000 500 900 0\n" +
				"W1\tOPA\t1\tRESULT 4000 2.000 2500 4000 0\n",
			want: []string{"| W1 | floor | 5000 | 0.50 ms | 0.90 ms | 0 |", "| W1 | OPA | 2000 |",
				"| W1 | Verdict | 1000 | 5.00 ms | 9.00 ms | 0 | Verdict/floor 0.20, Verdict/OPA 0.50 |"},
		},
		{
			name: "batches count ten decisions a request",
			results: "W1\tVerdict\t1\tRESULT 1000 1.000 1000 2000 0\n" +
				"W3\tVerdict\t10\tRESULT 200 1.000 8000 9000 0\n",
			want: []string{"| W3 | Verdict | 2000 |", "decisions/s vs W1 2.00"},
		},
		{
			name:    "a run with errors is flagged and fails",
			results: "W4\tVerdict\t1\tRESULT 1000 1.000 1000 2000 3\n",
			want:    []string{"| 3 FLAGGED |"},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			results, err := parseResults(strings.NewReader(tt.results))
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			err = printTable(&out, results)
			if (err != nil) != tt.wantErr {
				t.Errorf("error %v, want error %t", err, tt.wantErr)
			}
			rest := out.String()
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("output lacks %q (in order):\n%s", w, out.String())
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

func TestParseResultsRejectsMalformedLines(t *testing.T) {
	tests := []struct{ name, line string }{
		{name: "missing column", line: "W1\tVerdict\tRESULT 1 1 1 1 0"},
		{name: "decisions per request not a number", line: "W1\tVerdict\tx\tRESULT 1 1 1 1 0"},
		{name: "no RESULT from the generator", line: "W1\tVerdict\t1\twrk failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseResults(strings.NewReader(tt.line + "\n")); err == nil {
				t.Errorf("%q: no error", tt.line)
			}
		})
	}
}

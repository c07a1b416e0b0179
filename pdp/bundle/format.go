package bundle

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/format"
)

// diffContext is how many unchanged lines Diff shows around each change, as diff -u.
const diffContext = 3

// Format returns src, a Rego v1 module, laid out by OPA's formatter as `opa fmt` does; name
// locates parse errors.
func Format(name string, src []byte) ([]byte, error) {
	return format.SourceWithOpts(name, src, format.Opts{RegoVersion: ast.RegoV1})
}

// Diff returns the changes from old to formatted as a unified diff of name (empty when they
// are the same), which patch -p0 applies.
func Diff(name string, old, formatted []byte) string {
	if bytes.Equal(old, formatted) {
		return ""
	}
	a, b := splitLines(old), splitLines(formatted)
	ops := editScript(a, b)
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", name, name)
	for start := 0; start < len(ops); {
		if ops[start].kind == ' ' {
			start++
			continue
		}
		// A hunk runs from diffContext lines before a change to diffContext lines after the
		// last change that is no more than 2*diffContext unchanged lines from the next.
		end := start
		for i := start; i < len(ops) && i-end <= 2*diffContext; i++ {
			if ops[i].kind != ' ' {
				end = i
			}
		}
		from, to := max(0, start-diffContext), min(len(ops), end+diffContext+1)
		writeHunk(&out, ops[from:to])
		start = to
	}
	return out.String()
}

// lineEdit is one line of an edit script: kept (' '), removed ('-') or added ('+'), with its
// line numbers in the old and new text.
type lineEdit struct {
	kind         byte
	line         string
	oldNo, newNo int
}

// editScript returns the shortest edit script from a to b, by longest common subsequence;
// Rego files are small enough for its quadratic table.
func editScript(a, b []string) []lineEdit {
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []lineEdit
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			ops = append(ops, lineEdit{' ', a[i], i + 1, j + 1})
			i, j = i+1, j+1
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, lineEdit{'-', a[i], i + 1, j + 1})
			i++
		default:
			ops = append(ops, lineEdit{'+', b[j], i + 1, j + 1})
			j++
		}
	}
	return ops
}

// writeHunk writes ops as one hunk with its @@ header.
func writeHunk(out *strings.Builder, ops []lineEdit) {
	var oldLen, newLen int
	for _, op := range ops {
		if op.kind != '+' {
			oldLen++
		}
		if op.kind != '-' {
			newLen++
		}
	}
	oldStart, newStart := ops[0].oldNo, ops[0].newNo
	if oldLen == 0 {
		oldStart--
	}
	if newLen == 0 {
		newStart--
	}
	fmt.Fprintf(out, "@@ -%d,%d +%d,%d @@\n", oldStart, oldLen, newStart, newLen)
	for _, op := range ops {
		fmt.Fprintf(out, "%c%s\n", op.kind, op.line)
	}
}

// splitLines splits text into lines without their line ends.
func splitLines(text []byte) []string {
	s := strings.TrimSuffix(string(text), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// invoiceFiles are the files of the invoice example in docs/policies.md ("Write your own
// policy"), as fenced in the page: the name under tests/testdata/invoice and the fence's language.
var invoiceFiles = []struct{ name, lang string }{
	{name: "invoice.rego", lang: "rego"},
	{name: "verdict/config/data.json", lang: "json"},
	{name: "invoice_test.rego", lang: "rego"},
}

// TestPolicyAuthoring walks docs/policies.md's "Write your own policy" against the binary:
// the invoice module, its data and its tests, as the page shows them, added to a copy of
// policies/; `verdict test` on the copy; `verdict serve --dev --watch --bundle <copy>` deciding the
// finance and manager requests over HTTP; and `verdict eval` on the copy.
func TestPolicyAuthoring(t *testing.T) {
	policies := invoicePolicies(t)
	out := verdictCLI(t, t.TempDir(), false, "test", policies, "--threshold", "90")
	if !strings.Contains(out, "0 failed") {
		t.Fatalf("verdict test on the copy with the invoice module:\n%s", out)
	}

	inst := startVerdict(t, "", "--dev", "--watch", "--bundle", policies)
	mint := func(sub, roles string) string {
		return strings.TrimSpace(verdictCLI(t, inst.Dir, false, "token", "mint", "--sub", sub, "--roles", roles,
			"--scopes", "invoice:read invoice:approve"))
	}
	clerk, boss, manager := mint("fran", "finance"), mint("mia", "finance,manager"), mint("max", "manager")
	body := func(action, rtype string, amount int) string {
		return fmt.Sprintf(`{"action":%q,"resource":{"type":%q,"id":"inv-1","properties":{"tenant":"acme","amount":%d}}}`,
			action, rtype, amount)
	}
	tests := []struct {
		name        string
		token, body string
		allow       bool
		reason      string // a reason the decision must give, if any
		obligations string // the obligations, as JSON
	}{
		{name: "finance approves 500", token: clerk, body: body("approve", "invoice", 500), allow: true, obligations: `[]`},
		{name: "finance may not approve 5000", token: clerk, body: body("approve", "invoice", 5000),
			reason: "invoice: approving 5000 is over the limit of 1000 and needs role manager", obligations: `[]`},
		{name: "finance and manager approve 5000", token: boss, body: body("approve", "invoice", 5000), allow: true,
			obligations: `[{"reason":"invoice over the approval limit","type":"audit"}]`},
		{name: "manager alone may not approve", token: manager, body: body("approve", "invoice", 500),
			reason: "rbac: no role of max grants approve on invoice", obligations: `[]`},
		{name: "finance may not approve a document", token: clerk, body: body("approve", "document", 500),
			reason: "rbac: no role of fran grants approve on document", obligations: `[]`},
		{name: "finance reads an invoice", token: clerk, body: body("read", "invoice", 500), allow: true, obligations: `[]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := authorize(t, inst, tt.token, tt.body)
			var got struct {
				Allow       bool            `json:"allow"`
				Reasons     []string        `json:"reasons"`
				Obligations json.RawMessage `json:"obligations"`
			}
			if err := json.Unmarshal(resp.Body, &got); err != nil || resp.Status != 200 {
				t.Fatalf("status %d, body %s: %v", resp.Status, resp.Body, err)
			}
			if got.Allow != tt.allow || string(got.Obligations) != tt.obligations ||
				(tt.reason != "" && !slices.Contains(got.Reasons, tt.reason)) {
				t.Errorf("decision %s\nwant allow %v, obligations %s, reason %q", resp.Body, tt.allow, tt.obligations, tt.reason)
			}
		})
	}

	t.Run("eval", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, verdictBin(t), "eval", "--dev", "--bundle", policies, "--token", clerk)
		cmd.Dir = inst.Dir
		cmd.Stdin = strings.NewReader(body("approve", "invoice", 500))
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), `"allow": true`) {
			t.Errorf("eval: %v\n%s", err, out)
		}
	})
}

// invoicePolicies copies the repository's policies/ to a temporary directory and adds the
// invoice example to it as docs/policies.md tells, adding files only: invoice.rego and
// invoice_test.rego beside the others, the data in verdict/config/data.json, which the bundle
// merges into data.verdict.config. It fails when the page does not show the files.
func invoicePolicies(t *testing.T) string {
	t.Helper()
	page, err := os.ReadFile("../docs/policies.md")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "mypolicies")
	if err := os.CopyFS(dir, os.DirFS("../policies")); err != nil {
		t.Fatal(err)
	}
	for _, f := range invoiceFiles {
		raw, err := os.ReadFile(filepath.Join("testdata", "invoice", f.name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(page), "```"+f.lang+"\n"+string(raw)+"```\n") {
			t.Fatalf("docs/policies.md does not show testdata/invoice/%s as it is; update one or the other", f.name)
		}
		to := filepath.Join(dir, f.name)
		if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

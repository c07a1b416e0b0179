package tests

import (
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The monitoring files shipped for operators (docs/operations.md, "Alert rules and dashboard").
var monitoringFiles = []string{"../deploy/prometheus/alerts.yml", "../deploy/grafana/verdict-dashboard.json"}

// TestAlertRules checks the shipped alert rules with promtool (Debian package prometheus), and
// runs their unit tests: each alert fires on the series that should fire it, and not before.
func TestAlertRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (apt-get install prometheus): the alert rules are not checked")
	}
	for _, args := range [][]string{
		{"check", "rules", monitoringFiles[0]},
		{"test", "rules", "../deploy/prometheus/alerts_test.yml"},
	} {
		if out, err := exec.Command(promtool, args...).CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// metricName matches a Verdict metric name in a rule or panel expression.
var metricName = regexp.MustCompile(`verdict_[a-z0-9_]+`)

// TestMonitoringMetricsExist checks that every metric the alert rules and the dashboard name is
// served by a running Verdict once it has answered one allow, one deny and one refused token,
// and that the labelled series they select exist.
func TestMonitoringMetricsExist(t *testing.T) {
	inst, is := startWithIssuer(t, "")
	viewer := map[string]any{"roles": []string{"viewer"}, "tenant": "acme"}
	read := `{"action":"read","resource":` + doc("acme", "bob", "internal") + `}`
	for _, tc := range []struct {
		name, tok, body string
		status          int
	}{
		{name: "allow", tok: is.sign(t, is.claims("vera", viewer)), body: read, status: 200},
		{name: "deny", tok: is.sign(t, is.claims("vera", viewer)), body: `{"action":"delete","resource":` + doc("acme", "bob", "internal") + `}`, status: 200},
		{name: "refused token", tok: is.sign(t, is.claims("vera", map[string]any{"exp": time.Now().Add(-time.Hour).Unix()})), body: read, status: 401},
	} {
		if resp := authorize(t, inst, tc.tok, tc.body); resp.Status != tc.status {
			t.Fatalf("%s: status %d, want %d: %s", tc.name, resp.Status, tc.status, resp.Body)
		}
	}
	resp := do(t, http.MethodGet, inst.URL+"/metrics", nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("/metrics: status %d", resp.Status)
	}
	served := map[string]bool{}
	exposition := string(resp.Body)
	for _, line := range strings.Split(exposition, "\n") {
		// A sample line starts with its name; a family's name (a histogram's) is in its HELP.
		line = strings.TrimPrefix(line, "# HELP ")
		if name := metricName.FindString(line); name != "" && strings.HasPrefix(line, name) {
			served[name] = true
		}
	}
	for _, path := range monitoringFiles {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range metricName.FindAllString(string(data), -1) {
			if !served[name] {
				t.Errorf("%s names %s, which a running Verdict does not serve", path, name)
			}
		}
	}
	for _, series := range []string{
		`verdict_token_verifications_total{issuer="` + e2eIssuer + `",result="ok"} 2`,
		`verdict_token_verifications_total{issuer="` + e2eIssuer + `",result="exp"} 1`,
		`verdict_decision_duration_seconds_count{api="authorize"} 3`,
		`verdict_decisions_total{result="allow"} 1`,
		`verdict_decisions_total{result="deny"} 1`,
		`verdict_decisions_total{result="error"} 0`,
		`verdict_revocation_store_errors_total{outcome="check_denied"} 0`,
	} {
		if !strings.Contains(exposition, series) {
			t.Errorf("/metrics lacks %s", series)
		}
	}
}

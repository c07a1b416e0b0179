package tests

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestDecisionLogWriteErrors: with the decision log on a full disk (/dev/full), every decision
// still gets its answer, and every lost record shows in /v1/status and in
// verdict_decision_log_write_errors_total, not only in the process log.
func TestDecisionLogWriteErrors(t *testing.T) {
	inst := startVerdictEnv(t, "", []string{"VERDICT_DECISION_LOG_PATH=/dev/full"}, "--bundle", standardBundle(t))
	const decisions = 20
	for range decisions {
		resp := postJSON(t, inst.URL+"/v1/data/verdict/authz/allow", `{"input":{"action":{"name":"read"}}}`)
		if resp.Status != 200 {
			t.Fatalf("decision: status %d, body %s", resp.Status, resp.Body)
		}
	}
	var status struct {
		DecisionLog struct {
			Dropped     uint64 `json:"dropped"`
			WriteErrors uint64 `json:"write_errors"`
		} `json:"decision_log"`
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err := json.Unmarshal(do(t, "GET", inst.URL+"/v1/status", nil).Body, &status); err != nil {
			t.Fatal(err)
		}
		if status.DecisionLog.WriteErrors == decisions || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if status.DecisionLog.WriteErrors != decisions || status.DecisionLog.Dropped != 0 {
		t.Errorf("status decision_log = %+v, want %d write errors and no drops", status.DecisionLog, decisions)
	}
	metrics := string(do(t, "GET", inst.URL+"/metrics", nil).Body)
	if want := fmt.Sprintf("verdict_decision_log_write_errors_total %d", decisions); !strings.Contains(metrics, want) {
		t.Errorf("metrics lack %q", want)
	}
}

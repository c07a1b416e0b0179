package httpapi

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/verdict-pdp/verdict/pdp/config"
)

// TestAuthZENEvaluationsConcurrency runs a full batch with several workers: answers stay in
// request order.
func TestAuthZENEvaluationsConcurrency(t *testing.T) {
	s := newTestServer(t, func(c *config.Config) { c.Server.BatchConcurrency = 4 })
	var items, want []string
	for i := range 40 {
		id := fmt.Sprintf("record-%d", i%8)
		items = append(items, `{"resource":{"type":"record","id":"`+id+`"}}`)
		// Reading is allowed on every record but the hidden record-4.
		want = append(want, fmt.Sprintf(`{"decision":%v}`, id != "record-4"))
	}
	body := `{"subject":` + alice + `,"action":` + read + `,"evaluations":[` + strings.Join(items, ",") + `]}`
	rec := send(t, s, http.MethodPost, pathEvaluations, body)
	if got, exp := compact(t, rec.Body.String()), compact(t, `{"evaluations":[`+strings.Join(want, ",")+`]}`); got != exp {
		t.Errorf("body %s\nwant %s", got, exp)
	}
}

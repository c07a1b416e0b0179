package tests

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"

	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/decisionlog"
	"github.com/verdict-pdp/verdict/pdp/httpapi"
	"github.com/verdict-pdp/verdict/pdp/revocation"
)

// stubRevoker makes the server register its revocation routes.
type stubRevoker struct{}

func (stubRevoker) RevokeToken(context.Context, string, string, time.Time) (revocation.Record, error) {
	return revocation.Record{}, nil
}

func (stubRevoker) RevokeSubject(context.Context, string, string, time.Time) (revocation.Record, error) {
	return revocation.Record{}, nil
}

// anyMethod stands for a route served for every method.
const anyMethod = "*"

// servedOperations walks the router of a server built with every optional collaborator, and
// returns path template -> methods. {name:pattern} becomes {name}, as OpenAPI writes it.
func servedOperations(t *testing.T) map[string][]string {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	reg := prometheus.NewRegistry()
	s, err := httpapi.New(config.Default(), httpapi.Deps{DecisionLog: decisionlog.Discard(), Logger: log, Registry: reg,
		Gatherer: reg, Revocations: stubRevoker{}})
	if err != nil {
		t.Fatal(err)
	}
	pattern := regexp.MustCompile(`\{([^}:]+):[^}]*\}`)
	served := map[string][]string{}
	err = s.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil {
			return err
		}
		path := pattern.ReplaceAllString(tpl, "{$1}")
		methods, err := route.GetMethods()
		if err != nil {
			methods = []string{anyMethod}
		}
		served[path] = append(served[path], methods...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return served
}

// documentedOperations reads docs/openapi.yaml: path -> methods.
func documentedOperations(t *testing.T) map[string][]string {
	t.Helper()
	data, err := os.ReadFile("../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                          `yaml:"openapi"`
		Paths   map[string]map[string]yaml.Node `yaml:"paths"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi %q is not OpenAPI 3", doc.OpenAPI)
	}
	ops := []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}
	documented := map[string][]string{}
	for path, item := range doc.Paths {
		for key := range item {
			if slices.Contains(ops, key) {
				documented[path] = append(documented[path], strings.ToUpper(key))
			}
		}
	}
	return documented
}

// TestOpenAPIMatchesRouter checks docs/openapi.yaml against the router: every served route and
// method is documented, and every documented path and method is served.
func TestOpenAPIMatchesRouter(t *testing.T) {
	served := servedOperations(t)
	documented := documentedOperations(t)
	for path, methods := range served {
		doc, ok := documented[path]
		switch {
		case !ok:
			t.Errorf("%s is served but not documented", path)
		case slices.Contains(methods, anyMethod):
			if len(doc) == 0 {
				t.Errorf("%s serves every method but documents none", path)
			}
		default:
			for _, m := range methods {
				if !slices.Contains(doc, m) {
					t.Errorf("%s %s is served but not documented", m, path)
				}
			}
		}
	}
	for path, methods := range documented {
		srv, ok := served[path]
		if !ok {
			t.Errorf("%s is documented but not served", path)
			continue
		}
		for _, m := range methods {
			if !slices.Contains(srv, m) && !slices.Contains(srv, anyMethod) {
				t.Errorf("%s %s is documented but not served", m, path)
			}
		}
	}
	if len(served) < 10 {
		t.Errorf("only %d routes walked: %v", len(served), served)
	}
}

// TestOpenAPIRoutesAnswer asks the running binary for every documented operation: none may
// be unknown to it (404 from the router, or 405).
func TestOpenAPIRoutesAnswer(t *testing.T) {
	inst, _ := startStandard(t, "")
	fill := strings.NewReplacer("{path}", "fixture")
	for path, methods := range documentedOperations(t) {
		for _, m := range methods {
			if m == http.MethodOptions || m == "TRACE" {
				continue
			}
			resp := do(t, m, inst.URL+fill.Replace(path), nil)
			if resp.Status == http.StatusMethodNotAllowed || strings.Contains(string(resp.Body), `"not_found"`) {
				t.Errorf("%s %s: status %d %s", m, path, resp.Status, resp.Body)
			}
		}
	}
}

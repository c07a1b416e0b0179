package client_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/verdict-pdp/verdict/pdp/client"
)

// exampleVerdict stands in for a running Verdict: alice may read documents, nobody else may.
func exampleVerdict() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/authorize":
			allow := r.Header.Get("Authorization") == "Bearer alice-token" && strings.Contains(string(body), `"name":"read"`)
			fmt.Fprintf(w, `{"decision_id":"0f3c","allow":%v,"reasons":[],"obligations":[],"revision":"r1"}`, allow)
		case "/access/v1/evaluation":
			fmt.Fprintf(w, `{"decision":%v}`, strings.Contains(string(body), `"id":"alice"`))
		}
	}))
}

// Authorize asks for one decision for the holder of an access token.
func ExampleClient_Authorize() {
	verdict := exampleVerdict()
	defer verdict.Close()

	c, err := client.New(verdict.URL)
	if err != nil {
		log.Fatal(err)
	}
	d, err := c.Authorize(context.Background(), "alice-token", client.Request{
		Action:   client.Action{Name: "read"},
		Resource: client.Resource{Type: "document", ID: "doc-42", Properties: map[string]any{"tenant": "acme"}},
	})
	if err != nil {
		log.Fatal(err) // no decision: fail closed
	}
	fmt.Println("allow:", d.Allow, "decision:", d.DecisionID)
	// Output: allow: true decision: 0f3c
}

// Evaluation asks the AuthZEN API, where the PEP names the subject.
func ExampleClient_Evaluation() {
	verdict := exampleVerdict()
	defer verdict.Close()

	c, _ := client.New(verdict.URL, client.WithAPIKey("pep-key"))
	res, err := c.Evaluation(context.Background(), client.Evaluation{
		Subject:  &client.Subject{Type: "user", ID: "alice"},
		Action:   &client.Action{Name: "read"},
		Resource: &client.Resource{Type: "document", ID: "doc-42"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("decision:", res.Decision)
	// Output: decision: true
}

// Middleware protects a handler: the request reaches it only when Verdict allows.
func ExampleClient_Middleware() {
	verdict := exampleVerdict()
	defer verdict.Close()

	c, _ := client.New(verdict.URL)
	docs := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _ := client.DecisionFrom(r.Context())
		fmt.Fprintf(w, "document %s (decision %s)", r.PathValue("id"), d.DecisionID)
	})
	mapper := func(r *http.Request) (client.Request, error) {
		action := map[string]string{http.MethodGet: "read", http.MethodDelete: "delete"}[r.Method]
		return client.Request{
			Action:   client.Action{Name: action},
			Resource: client.Resource{Type: "document", ID: r.PathValue("id")},
		}, nil
	}
	mux := http.NewServeMux()
	mux.Handle("/documents/{id}", c.Middleware(docs, mapper,
		client.WithObligationHook(func(r *http.Request, obligations []client.Obligation) error {
			return nil // fulfil them here (log, redact...), or return an error to refuse
		})))

	for _, method := range []string{http.MethodGet, http.MethodDelete} {
		req := httptest.NewRequest(method, "/documents/doc-42", nil)
		req.Header.Set("Authorization", "Bearer alice-token")
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		fmt.Println(method, rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	// Output:
	// GET 200 document doc-42 (decision 0f3c)
	// DELETE 403 Forbidden
}

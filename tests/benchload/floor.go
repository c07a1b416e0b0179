package main

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// floorAnswer is the floor's fixed answer, shaped like Verdict's.
const floorAnswer = `{"allow":true,"reasons":["floor"],"obligations":[]}` + "\n"

// nativeRequest is the native body the floor decodes, the shape Verdict decodes.
type nativeRequest struct {
	Action   json.RawMessage `json:"action"`
	Resource struct {
		Type       string         `json:"type"`
		ID         string         `json:"id"`
		Properties map[string]any `json:"properties"`
	} `json:"resource"`
	Context map[string]any `json:"context"`
}

// floor is the least an HTTP decision service can do: decode the body and answer. With a key,
// it also verifies the bearer token's RS256 signature and claims on every request, uncached.
type floor struct {
	key    *rsa.PublicKey
	parser *jwt.Parser
}

// runFloor serves POST /v1/authorize, GET /health and POST /logs on -addr until SIGTERM or
// SIGINT.
func runFloor(args []string) error {
	fs := flag.NewFlagSet("floor", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address (loopback)")
	pubFile := fs.String("pub", "", "PEM public key: verify an RS256 bearer token on every request")
	issuer := fs.String("issuer", "", "required iss, with -pub")
	if err := fs.Parse(args); err != nil {
		return err
	}
	f := &floor{}
	if *pubFile != "" {
		raw, err := os.ReadFile(*pubFile)
		if err != nil {
			return err
		}
		if f.key, err = jwt.ParseRSAPublicKeyFromPEM(raw); err != nil {
			return err
		}
		f.parser = jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(*issuer),
			jwt.WithAudience(audience), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/authorize", f.authorize)
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	// The decision-log receiver of W4-http (OPA's protocol): takes the gzipped batch, unread.
	mux.HandleFunc("POST /logs", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 15 * time.Second, IdleTimeout: 60 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (f *floor) authorize(w http.ResponseWriter, r *http.Request) {
	if f.key != nil {
		if err := f.verify(r.Header.Get("Authorization")); err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			http.Error(w, "invalid token", http.StatusUnauthorized)
			return
		}
	}
	var req nativeRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		http.Error(w, "malformed body", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(floorAnswer))
}

// verify checks the bearer token as Verdict's rules require: RS256, typ at+jwt, iss, aud, exp.
func (f *floor) verify(header string) error {
	raw, ok := strings.CutPrefix(header, "Bearer ")
	if !ok {
		return errors.New("no bearer token")
	}
	tok, err := f.parser.Parse(raw, func(*jwt.Token) (any, error) { return f.key, nil })
	if err != nil {
		return err
	}
	if typ, _ := tok.Header["typ"].(string); !strings.EqualFold(typ, "at+jwt") {
		return fmt.Errorf("typ %q", typ)
	}
	return nil
}

// runPort prints a free loopback port.
func runPort([]string) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	_, err = fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	return err
}

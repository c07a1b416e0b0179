package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/verdict-pdp/verdict/pdp/config"
)

// checkFiles reports, joined, every file or directory the configuration names that does not
// exist, each under its key path, for check-config. It lives here rather than in
// config.Validate because Validate judges values alone: tests build configurations that name
// files never written, and the config package reads nothing but its input. serve does not
// call it: it opens these files itself, and starts on the last good bundle persisted in
// data_dir when a local policy.bundle is missing, which check-config reports.
func checkFiles(cfg config.Config) error {
	var errs []error
	exists := func(key, path string) {
		if _, err := os.Stat(path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
	}
	if b := cfg.Policy.Bundle; b != "" && !strings.Contains(b, "://") {
		exists("policy.bundle", b)
	}
	if v := cfg.Policy.Verification; v != nil {
		if v.PublicKey != "" {
			exists("policy.verification.public_key", v.PublicKey)
		}
		ids := make([]string, 0, len(v.Keys))
		for id := range v.Keys {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			exists("policy.verification.keys."+id, v.Keys[id])
		}
	}
	for i, is := range cfg.Tokens.Issuers {
		at := fmt.Sprintf("tokens.issuers[%d]", i)
		if is.JWKSFile != "" {
			exists(at+".jwks_file", is.JWKSFile)
		}
		for j, file := range is.PublicKeys {
			exists(fmt.Sprintf("%s.public_keys[%d]", at, j), file)
		}
	}
	if t := cfg.Server.TLS; t != nil {
		for _, f := range []struct{ key, path string }{
			{"server.tls.cert_file", t.CertFile}, {"server.tls.key_file", t.KeyFile}, {"server.tls.client_ca", t.ClientCA},
		} {
			if f.path != "" {
				exists(f.key, f.path)
			}
		}
	}
	if cfg.DecisionLog.Sink == "file" && cfg.DecisionLog.Path != "" {
		exists("decision_log.path (its directory)", filepath.Dir(cfg.DecisionLog.Path))
	}
	if h := cfg.DecisionLog.HTTP; h != nil && cfg.DecisionLog.Sink == "http" {
		for _, f := range [][2]string{{"ca_file", h.CAFile}, {"cert_file", h.CertFile}, {"key_file", h.KeyFile}} {
			if f[1] != "" {
				exists("decision_log.http."+f[0], f[1])
			}
		}
	}
	return errors.Join(errs...)
}

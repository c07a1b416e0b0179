package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/verdict-pdp/verdict/pdp/token"
)

// distinct is the -distinct mode: many tokens, each presented once, then the server's memory.
type distinct struct {
	n, bytes int
	devDir   string
	pid      int
}

// tokens returns the source of the distinct tokens: token i has subject user-i and a pad
// claim that brings it to about d.bytes. Minting costs the generator one ES256 signature each.
func (d distinct) tokens() (func(int64) (string, error), error) {
	key, err := token.LoadOrCreateDevKey(filepath.Join(d.devDir, ".verdict"))
	if err != nil {
		return nil, err
	}
	mint := func(i int64, pad string) (string, error) {
		claims := map[string]any{"sub": fmt.Sprint("user-", i), "roles": []string{"editor"}, "tenant": "acme"}
		if pad != "" {
			claims["pad"] = pad
		}
		return key.Mint(claims, time.Hour)
	}
	probe, err := mint(0, "")
	if err != nil {
		return nil, err
	}
	// base64url makes the pad a third longer in the token.
	pad := strings.Repeat("x", max(0, (d.bytes-len(probe))*3/4))
	if sample, err := mint(0, pad); err == nil {
		fmt.Printf("distinct tokens: %d of %d bytes\n", d.n, len(sample))
	}
	return func(i int64) (string, error) { return mint(i, pad) }, nil
}

// report prints the server's resident memory, now and at its peak, and its verified-token cache.
func (d distinct) report(w io.Writer, url string) error {
	resp, err := http.Get(url + "/v1/status")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var st struct {
		Tokens struct {
			Cache token.CacheStats `json:"cache"`
		} `json:"tokens"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return fmt.Errorf("/v1/status: %w", err)
	}
	c := st.Tokens.Cache
	rss, peak := memory(d.pid)
	fmt.Fprintf(w, "server memory: RSS %s MB, peak %s MB\n", rss, peak)
	fmt.Fprintf(w, "token cache: %d entries, %.1f of %.0f MiB, %d evictions\n",
		c.Entries, float64(c.Bytes)/(1<<20), float64(c.MaxBytes)/(1<<20), c.Evictions)
	return nil
}

// memory reads a process's resident set now and at its peak, in MB, from /proc.
func memory(pid int) (rss, peak string) {
	rss, peak = "?", "?"
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return rss, peak
	}
	for line := range strings.Lines(string(data)) {
		var kb int
		if _, err := fmt.Sscanf(line, "VmRSS: %d kB", &kb); err == nil {
			rss = fmt.Sprint(kb / 1024)
		}
		if _, err := fmt.Sscanf(line, "VmHWM: %d kB", &kb); err == nil {
			peak = fmt.Sprint(kb / 1024)
		}
	}
	return rss, peak
}

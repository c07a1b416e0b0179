package main

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/verdict-pdp/verdict/pdp/config"
)

// configFlags are the flags the commands that read configuration share.
type configFlags struct {
	file   string
	addr   string
	bundle string
}

func (f *configFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.file, "config", "", "YAML configuration file")
	fs.StringVar(&f.bundle, "bundle", "", "policy bundle: a directory, a .tar.gz or an http(s) URL (policy.bundle)")
}

// registerAddr adds --addr, for the commands that concern a listening server.
func (f *configFlags) registerAddr(fs *pflag.FlagSet) {
	fs.StringVar(&f.addr, "addr", "", "listen address (server.addr)")
}

// load reads the file, then VERDICT_* variables, then the flags that were set, then defaults.
// It warns on stderr about VERDICT_* variables that name no key. It does not validate.
func (f *configFlags) load(fs *pflag.FlagSet) (config.Config, error) {
	overrides, unknown := config.EnvOverrides(os.Environ())
	for _, name := range unknown {
		fmt.Fprintf(os.Stderr, "verdict: warning: %s names no configuration key; ignored\n", name)
	}
	for name, path := range map[string]string{"addr": "server.addr", "bundle": "policy.bundle"} {
		if flag := fs.Lookup(name); flag != nil && flag.Changed {
			overrides = append(overrides, config.Override{Path: path, Value: flag.Value.String()})
		}
	}
	if f.file == "" {
		return config.Load(nil, overrides)
	}
	file, err := os.Open(f.file)
	if err != nil {
		return config.Config{}, err
	}
	defer file.Close()
	c, err := config.Load(file, overrides)
	if err != nil {
		return config.Config{}, fmt.Errorf("%s: %w", f.file, err)
	}
	return c, nil
}

// loadValid loads and validates the configuration for a command that serves nothing (eval,
// token inspect), trusting the development issuer too when dev is set.
func (f *configFlags) loadValid(fs *pflag.FlagSet, dev bool) (config.Config, error) {
	cfg, err := f.load(fs)
	if err != nil {
		return config.Config{}, err
	}
	if dev {
		if _, err := addDevIssuer(&cfg); err != nil {
			return config.Config{}, err
		}
	}
	if err := cfg.Validate(); err != nil {
		return config.Config{}, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return cfg, nil
}

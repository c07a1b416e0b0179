package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/verdict-pdp/verdict/pdp/bundle"
	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/token"
)

// configFlags are the flags the commands that read configuration share.
type configFlags struct {
	file   string
	addr   string
	bundle string
	dev    bool
	watch  bool
}

func (f *configFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.file, "config", "", "YAML configuration file")
	fs.StringVar(&f.bundle, "bundle", "", "policy bundle: a directory, a .tar.gz or an http(s) URL (policy.bundle)")
	fs.BoolVar(&f.dev, "dev", false, "development mode: also trust a local issuer whose key lives in "+devDir+" (created on first use)")
}

// registerAddr adds --addr, for the commands that concern a listening server.
func (f *configFlags) registerAddr(fs *pflag.FlagSet) {
	fs.StringVar(&f.addr, "addr", "", "listen address (server.addr)")
}

// registerWatch adds --watch, for serve.
func (f *configFlags) registerWatch(fs *pflag.FlagSet) {
	fs.BoolVar(&f.watch, "watch", false, "serve each saved change of a directory or file bundle within a second, from file notifications (policy.watch)")
}

// load reads the file, then VERDICT_* variables, then the flags that were set, then defaults.
// It warns on stderr about VERDICT_* variables that name no key. It does not validate.
func (f *configFlags) load(fs *pflag.FlagSet) (config.Config, error) {
	overrides, unknown := config.EnvOverrides(os.Environ())
	for _, name := range unknown {
		fmt.Fprintf(os.Stderr, "verdict: warning: %s names no configuration key; ignored\n", name)
	}
	for name, path := range map[string]string{"addr": "server.addr", "bundle": "policy.bundle", "watch": "policy.watch"} {
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
		return c, fmt.Errorf("%s: %w", f.file, err)
	}
	return c, nil
}

// loadValid loads the configuration, adds the development issuer with --dev, and reports
// in one error every problem it finds: unknown keys and values of the wrong type, invalid
// values, builtins that cannot be allowed, and what the further checks find. serve and
// check-config both use it, so check-config refuses what serve would.
func (f *configFlags) loadValid(fs *pflag.FlagSet, checks ...func(config.Config) error) (config.Config, *token.DevKey, error) {
	cfg, err := f.load(fs)
	var decodeErr *config.DecodeError
	if err != nil && !errors.As(err, &decodeErr) {
		return config.Config{}, nil, err
	}
	errs := []error{err}
	var devKey *token.DevKey
	if f.dev {
		if devKey, err = addDevIssuer(&cfg); err != nil {
			return config.Config{}, nil, err
		}
		useDevPolicies(&cfg.Policy)
	}
	errs = append(errs, cfg.Validate())
	for _, check := range checks {
		errs = append(errs, check(cfg))
	}
	// The names OPA knows are the bundle package's to check.
	if _, err := bundle.NewBuiltins(cfg.Policy.AllowBuiltins); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return config.Config{}, nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return cfg, devKey, nil
}

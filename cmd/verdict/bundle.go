package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/verdict-pdp/verdict/pdp/bundle"
	"github.com/verdict-pdp/verdict/pdp/config"
)

func newBundleCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bundle",
		Short: "Build, sign and inspect OPA policy bundles",
	}
	cmd.AddCommand(newBundleBuildCommand(), newBundleSignCommand(), newBundleInspectCommand())
	return cmd
}

// signingFlags are the flags of build and sign that make a signature.
type signingFlags struct {
	key, alg, keyID, scope string
}

func (f *signingFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.key, "signing-key", "", "PEM private key (RSA, EC or Ed25519) to sign with")
	fs.StringVar(&f.alg, "signing-alg", "", "RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512 or EdDSA (default: the key's usual one)")
	fs.StringVar(&f.keyID, "key-id", bundle.DefaultKeyID, "key id written to the signature (kid)")
	fs.StringVar(&f.scope, "scope", "", "scope claim written to the signature")
}

// options reads the key; nil when no key was given.
func (f *signingFlags) options() (*bundle.SignOptions, error) {
	if f.key == "" {
		return nil, nil
	}
	key, err := os.ReadFile(f.key)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	return &bundle.SignOptions{Key: key, Algorithm: f.alg, KeyID: f.keyID, Scope: f.scope}, nil
}

func newBundleBuildCommand() *cobra.Command {
	var (
		out      string
		opts     bundle.BuildOptions
		signing  signingFlags
		maxBytes int64
	)
	cmd := &cobra.Command{
		Use:   "build DIR... -o FILE",
		Short: "Build a bundle archive from policy directories",
		Long: "Build a gzipped tar bundle from one or more directories of Rego and data files, with a manifest " +
			"holding roots and a revision (default: `git describe --always --dirty`, when the first directory is " +
			"in a git work tree), optionally signed (.signatures.json, as `opa build --signing-key` writes it).",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, dirs []string) error {
			if out == "" {
				return errors.New("--output (-o) is required")
			}
			var err error
			if opts.Sign, err = signing.options(); err != nil {
				return err
			}
			if !cmd.Flags().Changed("revision") {
				opts.Revision = bundle.GitRevision(cmd.Context(), dirs[0])
			}
			opts.MaxBytes = maxBytes
			raw, err := bundle.Build(dirs, opts)
			if err != nil {
				return err
			}
			if err := writeOutput(out, raw); err != nil {
				return err
			}
			return printSummary(cmd, out, raw, maxBytes)
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "archive to write (.tar.gz)")
	cmd.Flags().StringVar(&opts.Revision, "revision", "", "manifest revision (default: git describe, else the input manifest's)")
	cmd.Flags().StringSliceVar(&opts.Roots, "root", nil, "manifest root (repeatable; default: the input manifest's, else derived from packages and data)")
	cmd.Flags().Int64Var(&maxBytes, "max-bytes", config.DefaultMaxBundleBytes, "largest input or output accepted")
	cmd.Flags().StringSliceVar(&opts.AllowBuiltins, allowBuiltinFlag, nil, allowBuiltinUsage)
	signing.register(cmd.Flags())
	return cmd
}

func newBundleSignCommand() *cobra.Command {
	var (
		out      string
		signing  signingFlags
		maxBytes int64
	)
	cmd := &cobra.Command{
		Use:   "sign FILE --signing-key KEY",
		Short: "Sign a bundle archive (or a directory, with -o) in OPA's .signatures.json format",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := signing.options()
			if err != nil {
				return err
			}
			if opts == nil {
				return errors.New("--signing-key is required")
			}
			in := args[0]
			if out == "" {
				if info, err := os.Stat(in); err == nil && info.IsDir() {
					return errors.New("signing a directory needs --output (-o) for the signed archive")
				}
				out = in
			}
			raw, err := bundle.ReadPath(in, maxBytes)
			if err != nil {
				return err
			}
			if raw, err = bundle.Sign(raw, maxBytes, *opts); err != nil {
				return err
			}
			if err := writeOutput(out, raw); err != nil {
				return err
			}
			return printSummary(cmd, out, raw, maxBytes)
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "archive to write (default: FILE, replaced)")
	cmd.Flags().Int64Var(&maxBytes, "max-bytes", config.DefaultMaxBundleBytes, "largest bundle accepted")
	signing.register(cmd.Flags())
	return cmd
}

func newBundleInspectCommand() *cobra.Command {
	var (
		opts              bundle.InspectOptions
		key, keyID, scope string
		format            string
	)
	cmd := &cobra.Command{
		Use:   "inspect FILE",
		Short: "Show a bundle's manifest, files, signature status and entrypoints",
		Long: "Show a bundle's manifest, files, signature status and entrypoints. With --verification-key the " +
			"signature is verified, and the command fails when it does not verify.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if key != "" {
				pemBytes, err := os.ReadFile(key)
				if err != nil {
					return fmt.Errorf("verification key: %w", err)
				}
				if opts.Verifier, err = bundle.NewVerifier(map[string][]byte{keyID: pemBytes}, keyID, scope); err != nil {
					return err
				}
			}
			raw, err := bundle.ReadPath(args[0], opts.MaxBytes)
			if err != nil {
				return err
			}
			in, err := bundle.Inspect(raw, opts)
			if err != nil {
				return err
			}
			if format == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				err = enc.Encode(in)
			} else {
				err = in.Write(cmd.OutOrStdout())
			}
			if err != nil {
				return err
			}
			if opts.Verifier != nil && in.Signature.Status != bundle.SignatureVerified {
				return fmt.Errorf("signature does not verify: %s", in.Signature.String())
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&key, "verification-key", "", "PEM public key to verify the signature with")
	cmd.Flags().StringVar(&keyID, "key-id", bundle.DefaultKeyID, "key id of --verification-key")
	cmd.Flags().StringVar(&scope, "scope", "", "scope the signature must carry")
	cmd.Flags().StringVar(&opts.Entrypoint, "entrypoint", config.DefaultEntrypoint, "decision rule path to look for")
	cmd.Flags().StringVar(&format, "format", "text", "text or json")
	cmd.Flags().Int64Var(&opts.MaxBytes, "max-bytes", config.DefaultMaxBundleBytes, "largest bundle accepted")
	return cmd
}

// writeOutput writes raw to path through a temporary file and a rename, so a bundle server or
// a polling Verdict never sees half an archive.
func writeOutput(path string, raw []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// printSummary prints one line about the archive written.
func printSummary(cmd *cobra.Command, path string, raw []byte, maxBytes int64) error {
	in, err := bundle.Inspect(raw, bundle.InspectOptions{MaxBytes: maxBytes})
	if err != nil {
		return err
	}
	sig := in.Signature.Status
	if in.Signature.KeyID != "" {
		sig = fmt.Sprintf("signed by key %s (%s)", in.Signature.KeyID, in.Signature.Algorithm)
	}
	_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s: revision %s, %d files, %d bytes, %s\n", path, in.Revision, len(in.Files), len(raw), sig)
	return err
}

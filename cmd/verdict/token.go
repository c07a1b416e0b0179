package main

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/verdict-pdp/verdict/pdp/config"
	"github.com/verdict-pdp/verdict/pdp/token"
)

func newTokenCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Work with access tokens"}
	cmd.AddCommand(newTokenMintCommand(), newTokenInspectCommand())
	return cmd
}

func newTokenInspectCommand() *cobra.Command {
	var flags configFlags
	cmd := &cobra.Command{
		Use:   "inspect TOKEN",
		Short: "Decode an access token and verify it against the configuration",
		Long: "Print the token's header and claims (never its signature), then verify it against the configured " +
			"issuers (and the development issuer with --dev), as serve would: \"valid for issuer X\", or the check " +
			"that refused it with the value found and the value expected. Claim values are printed: this is " +
			"for the operator's terminal, not for logs.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw := args[0]
			header, claims, err := token.Decode(raw)
			if err != nil {
				return fmt.Errorf("token refused: format: %w", err)
			}
			out := cmd.OutOrStdout()
			for _, part := range []struct {
				name  string
				value map[string]any
			}{{"header", header}, {"claims", claims}} {
				data, err := json.MarshalIndent(part.value, "", "  ")
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "%s:\n%s\n", part.name, data)
			}
			cfg, _, err := flags.loadValid(cmd.Flags())
			if err != nil {
				return err
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
			p, err := verifyOffline(cmd.Context(), cfg.Tokens, raw, log)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(out, "valid for issuer %s\n", p.Issuer)
			return err
		},
	}
	flags.register(cmd.Flags())
	return cmd
}

// verifyOffline verifies raw as serve would, with a Verifier of its own, and on refusal
// says which check failed with the values it compared (for the operator's terminal only).
func verifyOffline(ctx context.Context, cfg config.Tokens, raw string, log *slog.Logger) (*token.Principal, error) {
	verifier, err := token.New(cfg, token.Deps{Logger: log, Now: time.Now})
	if err != nil {
		return nil, err
	}
	defer func() { _ = verifier.Close() }()
	p, err := verifier.Verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("token refused: %s", verifier.Explain(raw, err))
	}
	return p, nil
}

type mintFlags struct {
	sub, roles, tenant, scopes, amr     string
	claims                              string
	keyFile, kid, issuer, audience, typ string
	ttl                                 time.Duration
}

func newTokenMintCommand() *cobra.Command {
	var f mintFlags
	cmd := &cobra.Command{
		Use:   "mint",
		Short: "Mint an access token with the development key of serve --dev, or with --key",
		Long: "Mint an access token with the development key that `verdict serve --dev` created under " + devDir +
			" in the directory it ran in (run mint from there), or with --key FILE --issuer URL. Without flags " +
			"its claims are those of the token serve --dev prints: alice, editor of tenant acme, MFA.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := time.Now()
			claims, err := f.claimSet(now)
			if err != nil {
				return err
			}
			signer, kid, base, err := f.signer(cmd)
			if err != nil {
				return err
			}
			// A --ttl of zero or less gives an expired token, to see how it is refused.
			base["iat"] = now.Unix()
			base["exp"] = now.Add(f.ttl).Unix()
			maps.Copy(base, claims)
			tok, err := token.MintWithType(signer, kid, f.typ, base)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), tok)
			return err
		},
	}
	dev := devIdentity()
	flags := cmd.Flags()
	flags.StringVar(&f.sub, "sub", dev.sub, "subject (sub claim)")
	flags.StringVar(&f.roles, "roles", dev.roles, `comma-separated roles ("" for none)`)
	flags.StringVar(&f.tenant, "tenant", dev.tenant, `tenant claim ("" for none)`)
	flags.StringVar(&f.scopes, "scopes", dev.scopes, `space- or comma-separated scopes (scope claim; "" for none)`)
	flags.StringVar(&f.amr, "amr", dev.amr, `comma-separated authentication methods (amr claim; "" for none)`)
	flags.StringVar(&f.claims, "claims", "", "further claims as a JSON object")
	flags.DurationVar(&f.ttl, "ttl", time.Hour, "lifetime; zero or negative mints an expired token")
	flags.StringVar(&f.typ, "typ", "at+jwt", `header typ ("JWT" imitates IdPs such as Keycloak; "" leaves it out)`)
	flags.StringVar(&f.keyFile, "key", "", "PEM private key to sign with instead of the development key")
	flags.StringVar(&f.kid, "kid", "", "key id for the header, with --key (default the key's RFC 7638 thumbprint)")
	flags.StringVar(&f.issuer, "issuer", "", "iss claim, with --key")
	flags.StringVar(&f.audience, "audience", "verdict", "aud claim, with --key")
	return cmd
}

// signer returns the key and kid to sign with and the iss and aud claims: the development
// issuer's, or those of --key, --issuer and --audience.
func (f *mintFlags) signer(cmd *cobra.Command) (crypto.Signer, string, map[string]any, error) {
	if f.keyFile == "" {
		for _, name := range []string{"issuer", "audience", "kid"} {
			if cmd.Flags().Changed(name) {
				return nil, "", nil, fmt.Errorf("--%s needs --key: the development key has its own", name)
			}
		}
		key, err := token.LoadDevKey(devDir)
		if errors.Is(err, fs.ErrNotExist) {
			abs, _ := filepath.Abs(filepath.Join(devDir, token.DevKeyFile))
			return nil, "", nil, fmt.Errorf("no development key at %s: run token mint in the directory where `verdict serve --dev` "+
				"runs (it creates the key there), or pass --key <that directory>/%s/%s --issuer %s",
				abs, strings.TrimPrefix(devDir, "./"), token.DevKeyFile, token.DevIssuer)
		}
		if err != nil {
			return nil, "", nil, err
		}
		return key.Signer(), key.KeyID(), map[string]any{"iss": token.DevIssuer, "aud": token.DevAudience}, nil
	}
	if f.issuer == "" {
		return nil, "", nil, fmt.Errorf("--issuer is required with --key")
	}
	signer, err := token.LoadSigningKey(f.keyFile)
	if err != nil {
		return nil, "", nil, err
	}
	return signer, f.kid, map[string]any{"iss": f.issuer, "aud": f.audience}, nil
}

// claimSet builds the caller's claims; --claims is applied last so it can set anything, iss,
// aud, iat and exp included.
func (f *mintFlags) claimSet(now time.Time) (map[string]any, error) {
	claims := map[string]any{"sub": f.sub, "auth_time": now.Unix()}
	if f.roles != "" {
		claims["roles"] = strings.Split(f.roles, ",")
	}
	if f.tenant != "" {
		claims["tenant"] = f.tenant
	}
	if f.scopes != "" {
		claims["scope"] = strings.Join(strings.FieldsFunc(f.scopes, func(r rune) bool { return r == ',' || r == ' ' }), " ")
	}
	if f.amr != "" {
		claims["amr"] = strings.Split(f.amr, ",")
	}
	if f.claims != "" {
		var extra map[string]any
		if err := json.Unmarshal([]byte(f.claims), &extra); err != nil {
			return nil, fmt.Errorf("--claims: %w", err)
		}
		for k, v := range extra {
			claims[k] = v
		}
	}
	return claims, nil
}

package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/verdict-pdp/verdict/pdp/token"
)

func newTokenCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Work with access tokens"}
	cmd.AddCommand(newTokenMintCommand())
	return cmd
}

type mintFlags struct {
	sub, roles, tenant, scopes, claims string
	keyFile, kid, issuer, audience     string
	ttl                                time.Duration
}

func newTokenMintCommand() *cobra.Command {
	var f mintFlags
	cmd := &cobra.Command{
		Use:   "mint",
		Short: "Mint an access token with the development key, or with --key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			claims, err := f.claimSet(time.Now())
			if err != nil {
				return err
			}
			var tok string
			if f.keyFile == "" {
				key, err := token.LoadOrCreateDevKey(devDir)
				if err != nil {
					return err
				}
				tok, err = key.Mint(claims, f.ttl)
				if err != nil {
					return err
				}
			} else {
				signer, err := token.LoadSigningKey(f.keyFile)
				if err != nil {
					return err
				}
				if f.issuer == "" {
					return fmt.Errorf("--issuer is required with --key")
				}
				claims["iss"] = f.issuer
				claims["aud"] = f.audience
				now := time.Now()
				claims["iat"] = now.Unix()
				claims["exp"] = now.Add(f.ttl).Unix()
				if tok, err = token.Mint(signer, f.kid, claims); err != nil {
					return err
				}
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), tok)
			return err
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.sub, "sub", "alice", "subject (sub claim)")
	fs.StringVar(&f.roles, "roles", "", "comma-separated roles")
	fs.StringVar(&f.tenant, "tenant", "", "tenant claim")
	fs.StringVar(&f.scopes, "scopes", "", "space- or comma-separated scopes (scope claim)")
	fs.StringVar(&f.claims, "claims", "", "further claims as a JSON object")
	fs.DurationVar(&f.ttl, "ttl", time.Hour, "lifetime")
	fs.StringVar(&f.keyFile, "key", "", "PEM private key to sign with instead of the development key")
	fs.StringVar(&f.kid, "kid", "", "key id for the header, with --key")
	fs.StringVar(&f.issuer, "issuer", "", "iss claim, with --key")
	fs.StringVar(&f.audience, "audience", "verdict", "aud claim, with --key")
	return cmd
}

// claimSet builds the caller's claims; --claims is applied last so it can set anything.
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

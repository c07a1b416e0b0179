package bundle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	opabundle "github.com/open-policy-agent/opa/v1/bundle"
)

// BuildOptions say how Build makes a bundle.
type BuildOptions struct {
	// MaxBytes bounds each input directory and the output, as ReadOptions.MaxBytes does.
	MaxBytes int64
	// Revision is written to the manifest; empty keeps the input's manifest revision, if any.
	Revision string
	// Roots are written to the manifest; empty keeps the input manifest's roots, and derives
	// them from the packages and top-level data keys when the input has no manifest roots.
	Roots []string
	// Sign, when set, signs the output (see Sign).
	Sign *SignOptions
	// AllowBuiltins are the denied builtins (DeniedBuiltins) the policy may call anyway, as
	// policy.allow_builtins: Build refuses a bundle that calls another, as activation would.
	AllowBuiltins []string
}

// Build reads each directory in dirs as a bundle (Rego v1, as Load reads it), merges them,
// writes a manifest with roots and a revision and returns the gzipped tar archive that OPA's
// bundle writer produces for it, signed when opts.Sign is set. Modules keep their source as
// written, so line numbers in errors and coverage match the files. The output is parsed once
// more before it is returned, so Build never returns a bundle Verdict would refuse (signatures
// aside: those need the public key), nor one that calls a builtin opts.AllowBuiltins leaves
// denied.
func Build(dirs []string, opts BuildOptions) ([]byte, error) {
	if len(dirs) == 0 {
		return nil, errors.New("build bundle: no directories given")
	}
	if opts.MaxBytes <= 0 {
		return nil, fmt.Errorf("build bundle: size limit must be positive, got %d", opts.MaxBytes)
	}
	builtins, err := NewBuiltins(opts.AllowBuiltins)
	if err != nil {
		return nil, fmt.Errorf("build bundle: %w", err)
	}
	b, err := mergeDirs(dirs, opts.MaxBytes)
	if err != nil {
		return nil, fmt.Errorf("build bundle: %w", err)
	}
	if err := builtins.Check(b); err != nil {
		return nil, fmt.Errorf("build bundle: %w", err)
	}
	roots := opts.Roots
	if len(roots) == 0 {
		roots = manifestRoots(b)
	}
	b.Manifest.Roots = &roots
	if opts.Revision != "" {
		b.Manifest.Revision = opts.Revision
	}
	b.Signatures = opabundle.SignaturesConfig{}
	var buf bytes.Buffer
	if err := opabundle.NewWriter(&buf).UseModulePath(true).DisableFormat(true).Write(*b); err != nil {
		return nil, fmt.Errorf("build bundle: %w", err)
	}
	raw := buf.Bytes()
	if opts.Sign != nil {
		if raw, err = Sign(raw, opts.MaxBytes, *opts.Sign); err != nil {
			return nil, fmt.Errorf("build bundle: %w", err)
		}
	}
	if _, err := parseArchive(raw, "", ReadOptions{MaxBytes: opts.MaxBytes}); err != nil {
		return nil, fmt.Errorf("build bundle: the output does not load: %w", err)
	}
	return raw, nil
}

// mergeDirs loads every directory and merges them into one bundle; a module path found in two
// directories is an error, since the archive can hold one file per name.
func mergeDirs(dirs []string, maxBytes int64) (*opabundle.Bundle, error) {
	var (
		bundles []*opabundle.Bundle
		seen    = map[string]string{}
	)
	for _, dir := range dirs {
		raw, err := ReadPath(dir, maxBytes)
		if err != nil {
			return nil, err
		}
		b, err := parseArchive(raw, "", ReadOptions{MaxBytes: maxBytes})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", dir, err)
		}
		for _, mf := range b.Modules {
			if other, dup := seen[mf.Path]; dup {
				return nil, fmt.Errorf("%w: %s is in both %s and %s", ErrInvalidBundle, mf.Path, other, dir)
			}
			seen[mf.Path] = dir
		}
		// Merging needs disjoint roots; a directory without manifest roots claims all of data.
		roots := manifestRoots(b)
		b.Manifest.Roots = &roots
		bundles = append(bundles, b)
	}
	if len(bundles) == 1 {
		return bundles[0], nil
	}
	merged, err := opabundle.MergeWithRegoVersion(bundles, ast.RegoV1, true)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidBundle, err)
	}
	return merged, nil
}

// manifestRoots returns b's manifest roots, or, when they are unset or the catch-all root,
// the first segment of every package and every top-level data key: the narrowest roots that
// still hold the whole bundle, so two bundles cannot silently overwrite each other's data.
func manifestRoots(b *opabundle.Bundle) []string {
	if r := b.Manifest.Roots; r != nil && len(*r) > 0 && !slices.Contains(*r, "") {
		return slices.Clone(*r)
	}
	set := map[string]bool{}
	for _, mf := range b.Modules {
		if p := mf.Parsed.Package.Path; len(p) > 1 {
			if s, ok := p[1].Value.(ast.String); ok {
				set[string(s)] = true
			}
		}
	}
	for k := range b.Data {
		set[k] = true
	}
	var roots []string
	for r := range set {
		roots = append(roots, r)
	}
	slices.Sort(roots)
	return roots
}

// GitRevision returns `git describe --always --dirty` run in dir, or "" when dir is not in a
// git work tree or git is not installed: the default revision of `verdict bundle build`.
func GitRevision(ctx context.Context, dir string) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", "describe", "--always", "--dirty")
	cmd.Dir = path.Clean(dir)
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

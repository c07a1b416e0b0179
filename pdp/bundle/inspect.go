package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	opabundle "github.com/open-policy-agent/opa/v1/bundle"

	"github.com/verdict-pdp/verdict/pdp/config"
)

// Signature states Inspect reports.
const (
	SignatureUnsigned   = "unsigned"
	SignatureUnverified = "signed, not verified"
	SignatureVerified   = "verified"
	SignatureInvalid    = "invalid"
)

// InspectOptions say what Inspect checks.
type InspectOptions struct {
	// MaxBytes bounds the archive as ReadOptions.MaxBytes does.
	MaxBytes int64
	// Verifier, when set, verifies the signature; without one it is only decoded.
	Verifier *Verifier
	// Entrypoint is the decision rule path to look for; empty means config.DefaultEntrypoint.
	Entrypoint string
}

// Inspection describes a bundle archive: what `verdict bundle inspect` prints.
type Inspection struct {
	// Revision is the revision Verdict would serve the bundle as (see Revision).
	Revision string             `json:"revision"`
	Manifest opabundle.Manifest `json:"manifest"`
	Files    []InspectedFile    `json:"files"`
	// Signature describes .signatures.json and, with a Verifier, whether it verifies.
	Signature SignatureStatus `json:"signature"`
	Packages  []string        `json:"packages"`
	// Entrypoints are the rules annotated `entrypoint: true` (OPA's METADATA convention).
	Entrypoints []string `json:"entrypoints"`
	// Decision says whether a rule defines the decision entrypoint.
	Decision EntrypointStatus `json:"decision"`
}

// InspectedFile is one file of the archive.
type InspectedFile struct {
	Name   string `json:"name"`
	Size   int    `json:"size"`
	SHA256 string `json:"sha256"`
}

// SignatureStatus describes a bundle's signature.
type SignatureStatus struct {
	// Status is SignatureUnsigned, SignatureUnverified, SignatureVerified or SignatureInvalid.
	Status    string `json:"status"`
	KeyID     string `json:"key_id,omitempty"`
	Algorithm string `json:"algorithm,omitempty"`
	Scope     string `json:"scope,omitempty"`
	// Files is how many files the signature covers.
	Files int    `json:"files,omitempty"`
	Error string `json:"error,omitempty"`
}

// EntrypointStatus says whether a rule path is defined.
type EntrypointStatus struct {
	Path    string `json:"path"`
	Defined bool   `json:"defined"`
}

// Inspect describes the bundle archive raw. It fails when the archive is unsafe or does not
// parse or compile; a bad signature is reported in the result, not as an error.
func Inspect(raw []byte, opts InspectOptions) (*Inspection, error) {
	if opts.MaxBytes <= 0 {
		return nil, fmt.Errorf("inspect bundle: size limit must be positive, got %d", opts.MaxBytes)
	}
	entries, err := scanArchive(raw, opts.MaxBytes, true)
	if err != nil {
		return nil, fmt.Errorf("inspect bundle: %w", err)
	}
	b, err := parse(raw, "", ReadOptions{MaxBytes: opts.MaxBytes})
	if err != nil {
		return nil, fmt.Errorf("inspect bundle: %w", err)
	}
	in := &Inspection{Revision: b.Manifest.Revision, Manifest: b.Manifest, Signature: signatureStatus(entries, opts.Verifier)}
	for _, e := range entries {
		sum := sha256.Sum256(e.data)
		in.Files = append(in.Files, InspectedFile{Name: e.name, Size: len(e.data), SHA256: hex.EncodeToString(sum[:])})
	}
	if in.Entrypoints, err = annotatedEntrypoints(b); err != nil {
		return nil, fmt.Errorf("inspect bundle: %w", err)
	}
	if in.Packages, in.Decision, err = compileForInspect(b, opts.Entrypoint); err != nil {
		return nil, fmt.Errorf("inspect bundle: %w", err)
	}
	return in, nil
}

func signatureStatus(entries []archiveEntry, v *Verifier) SignatureStatus {
	tok, err := decodeSignature(entries)
	switch {
	case err != nil:
		return SignatureStatus{Status: SignatureInvalid, Error: err.Error()}
	case tok == nil:
		return SignatureStatus{Status: SignatureUnsigned}
	}
	st := SignatureStatus{Status: SignatureUnverified, KeyID: tok.keyID, Algorithm: tok.alg, Scope: tok.payload.Scope, Files: len(tok.payload.Files)}
	if v == nil {
		return st
	}
	if _, err := v.verify(entries); err != nil {
		st.Status, st.Error = SignatureInvalid, err.Error()
		return st
	}
	st.Status = SignatureVerified
	return st
}

// annotatedEntrypoints parses the modules again with annotations on (the bundle reader leaves
// them off) and returns the paths of those marked entrypoint: true.
func annotatedEntrypoints(b *opabundle.Bundle) ([]string, error) {
	var eps []string
	for _, mf := range b.Modules {
		m, err := ast.ParseModuleWithOpts(mf.Path, string(mf.Raw), ast.ParserOptions{ProcessAnnotation: true, RegoVersion: ast.RegoV1})
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidBundle, err)
		}
		for _, a := range m.Annotations {
			if a.Entrypoint {
				eps = append(eps, refPath(a.GetTargetPath()))
			}
		}
	}
	slices.Sort(eps)
	return slices.Compact(eps), nil
}

// compileForInspect compiles the modules and returns their packages and whether entrypoint is
// defined.
func compileForInspect(b *opabundle.Bundle, entrypoint string) ([]string, EntrypointStatus, error) {
	if entrypoint == "" {
		entrypoint = config.DefaultEntrypoint
	}
	st := EntrypointStatus{Path: entrypoint}
	mods := make(map[string]*ast.Module, len(b.Modules))
	var pkgs []string
	for _, mf := range b.Modules {
		mods[mf.Path] = mf.Parsed
		pkgs = append(pkgs, strings.TrimPrefix(mf.Parsed.Package.Path.String(), "data."))
	}
	slices.Sort(pkgs)
	c := ast.NewCompiler().WithDefaultRegoVersion(ast.RegoV1)
	if c.Compile(mods); c.Failed() {
		return nil, st, fmt.Errorf("%w: %w", ErrInvalidBundle, c.Errors)
	}
	ref, err := ast.PtrRef(ast.DefaultRootDocument, strings.Trim(entrypoint, "/"))
	if err != nil {
		return nil, st, fmt.Errorf("entrypoint %q: %w", entrypoint, err)
	}
	st.Defined = len(c.GetRules(ref)) > 0
	return slices.Compact(pkgs), st, nil
}

// refPath turns data.a.b.c into a/b/c, the form policy.entrypoint takes.
func refPath(ref ast.Ref) string {
	parts := make([]string, 0, len(ref))
	for _, t := range ref[1:] {
		if s, ok := t.Value.(ast.String); ok {
			parts = append(parts, string(s))
		} else {
			parts = append(parts, t.Value.String())
		}
	}
	return strings.Join(parts, "/")
}

// Write prints the inspection as text: a summary, then packages, entrypoints and files.
func (in *Inspection) Write(w io.Writer) error {
	var b strings.Builder
	roots := "(all)"
	if in.Manifest.Roots != nil {
		roots = strings.Join(*in.Manifest.Roots, ", ")
	}
	fmt.Fprintf(&b, "revision:    %s\n", in.Revision)
	fmt.Fprintf(&b, "roots:       %s\n", roots)
	fmt.Fprintf(&b, "signature:   %s\n", in.Signature.String())
	defined := "not defined"
	if in.Decision.Defined {
		defined = "defined"
	}
	fmt.Fprintf(&b, "decision:    %s (%s)\n", in.Decision.Path, defined)
	eps := "(none annotated)"
	if len(in.Entrypoints) > 0 {
		eps = strings.Join(in.Entrypoints, ", ")
	}
	fmt.Fprintf(&b, "entrypoints: %s\n", eps)
	b.WriteString("packages:\n")
	for _, p := range in.Packages {
		fmt.Fprintf(&b, "  %s\n", p)
	}
	b.WriteString("files:\n")
	for _, f := range in.Files {
		fmt.Fprintf(&b, "  %8d  %s  %s\n", f.Size, f.SHA256[:12], f.Name)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// String describes the signature in one line: its status, key, algorithm, scope, files and
// error.
func (s SignatureStatus) String() string {
	if s.Status == SignatureUnsigned {
		return s.Status
	}
	var parts []string
	if s.KeyID != "" {
		parts = append(parts, "key "+s.KeyID)
	}
	if s.Algorithm != "" {
		parts = append(parts, s.Algorithm)
	}
	if s.Scope != "" {
		parts = append(parts, "scope "+s.Scope)
	}
	if s.Files > 0 {
		parts = append(parts, fmt.Sprintf("%d files", s.Files))
	}
	out := s.Status
	if len(parts) > 0 {
		out += " (" + strings.Join(parts, ", ") + ")"
	}
	if s.Error != "" {
		out += ": " + s.Error
	}
	return out
}

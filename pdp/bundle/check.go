package bundle

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	opabundle "github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/loader"
)

// CheckOptions configures Check.
type CheckOptions struct {
	// Strict adds the compiler's strict checks: unused variables, imports and function
	// arguments, shadowed keywords, duplicate imports, deprecated builtins.
	Strict bool
	// AllowBuiltins are the denied builtins (DeniedBuiltins) the policy may call anyway, as
	// policy.allow_builtins.
	AllowBuiltins []string
}

// Check parses and compiles the Rego files in paths (files, and the .rego files under
// directories) together, as `opa check` does and as serve would compile them, calls of denied
// builtins included. The error lists every problem with its file and line.
func Check(paths []string, opts CheckOptions) error {
	builtins, err := NewBuiltins(opts.AllowBuiltins)
	if err != nil {
		return err
	}
	files, err := RegoFiles(paths)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("check: no .rego files in %s", strings.Join(paths, ", "))
	}
	b, _, err := loadFiles(files)
	if err != nil {
		return err
	}
	if err := builtins.Check(b); err != nil {
		return err
	}
	compiler := ast.NewCompiler().WithCapabilities(builtins.Capabilities()).
		WithDefaultRegoVersion(ast.RegoV1).WithEnablePrintStatements(true).
		WithStrict(opts.Strict).WithUseTypeCheckAnnotations(true)
	if compiler.Compile(b.ParsedModules("")); compiler.Failed() {
		return compiler.Errors
	}
	return nil
}

// RegoFiles returns the .rego files paths name: a file as given, a directory's .rego files
// at any depth, in name order. A path that does not exist is an error.
func RegoFiles(paths []string) ([]string, error) {
	if len(paths) == 0 {
		return nil, errors.New("no paths given")
	}
	var files []string
	for _, p := range paths {
		err := filepath.WalkDir(p, func(name string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if name == p && !d.IsDir() || !d.IsDir() && strings.HasSuffix(name, ".rego") {
				files = append(files, name)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.Sort(files)
	return slices.Compact(files), nil
}

// loadFiles reads Rego and data files given by name, as `opa test` and `opa check` do: a
// data file's document at the root of data. The modules come back as a bundle without a
// manifest, so what checks a bundle's modules checks them too; it is never activated as one.
func loadFiles(files []string) (*opabundle.Bundle, map[string]any, error) {
	loaded, err := loader.NewFileLoader().WithRegoVersion(ast.RegoV1).WithProcessAnnotation(true).All(files)
	if err != nil {
		return nil, nil, err
	}
	b := &opabundle.Bundle{}
	for _, key := range slices.Sorted(maps.Keys(loaded.Modules)) {
		m := loaded.Modules[key]
		b.Modules = append(b.Modules, opabundle.ModuleFile{URL: m.Name, Path: m.Name, Raw: m.Raw, Parsed: m.Parsed})
	}
	return b, loaded.Documents, nil
}

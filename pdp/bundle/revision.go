package bundle

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"hash"
	"slices"
	"strings"

	opabundle "github.com/open-policy-agent/opa/v1/bundle"
)

// RevisionPrefix starts every revision derived from a digest rather than read from a manifest.
const RevisionPrefix = "sha256:"

// revisionHexChars is how many hex digits of the digest a derived revision keeps: 48 bits,
// plenty to tell revisions of one bundle apart, short enough to read in a log line.
const revisionHexChars = 12

// Revision returns the bundle's revision: the manifest's when it has one, otherwise
// "sha256:" and the first 12 hex digits of a SHA-256 digest over the manifest (without
// revision), every module's path and source, every wasm module and the data. The digest does
// not depend on the order files were read in or on a leading slash in their paths, so the same
// files give the same revision from a directory, an archive or the embedded bundle.
func Revision(b *opabundle.Bundle) string {
	if b.Manifest.Revision != "" {
		return b.Manifest.Revision
	}
	h := sha256.New()

	m := b.Manifest
	m.Revision = ""
	writeJSON(h, "manifest", m)

	mods := make([]opabundle.ModuleFile, len(b.Modules))
	copy(mods, b.Modules)
	slices.SortFunc(mods, func(a, b opabundle.ModuleFile) int {
		return strings.Compare(normalPath(a.Path), normalPath(b.Path))
	})
	for _, mf := range mods {
		writeField(h, "module:"+normalPath(mf.Path), mf.Raw)
	}

	wasm := make([]opabundle.WasmModuleFile, len(b.WasmModules))
	copy(wasm, b.WasmModules)
	slices.SortFunc(wasm, func(a, b opabundle.WasmModuleFile) int {
		return strings.Compare(normalPath(a.Path), normalPath(b.Path))
	})
	for _, w := range wasm {
		writeField(h, "wasm:"+normalPath(w.Path), w.Raw)
	}

	// encoding/json sorts map keys, so the data's encoding is canonical.
	writeJSON(h, "data", b.Data)

	return RevisionPrefix + hex.EncodeToString(h.Sum(nil))[:revisionHexChars]
}

func normalPath(p string) string {
	return strings.TrimPrefix(strings.ReplaceAll(p, `\`, "/"), "/")
}

func writeJSON(h hash.Hash, name string, v any) {
	bs, err := json.Marshal(v)
	if err != nil {
		// Values read from JSON always marshal; if one does not, the error text still makes
		// the digest deterministic.
		bs = []byte("error: " + err.Error())
	}
	writeField(h, name, bs)
}

// writeField writes name and value length-prefixed, so no two field sequences hash alike.
func writeField(h hash.Hash, name string, value []byte) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(name)))
	h.Write(n[:])
	h.Write([]byte(name))
	binary.BigEndian.PutUint64(n[:], uint64(len(value)))
	h.Write(n[:])
	h.Write(value)
}

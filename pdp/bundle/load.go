package bundle

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/open-policy-agent/opa/v1/ast"
	opabundle "github.com/open-policy-agent/opa/v1/bundle"
)

// Errors returned when a bundle is refused. Each load error wraps exactly one of them, so a
// caller can count failures by reason with errors.Is.
var (
	// ErrTooLarge means the bundle, its archive or its unpacked contents exceed the size limit.
	ErrTooLarge = errors.New("bundle too large")
	// ErrUnsafePath means an archive entry could escape the bundle root (.., drive letters,
	// network paths, backslashes) or is a link.
	ErrUnsafePath = errors.New("unsafe path in bundle archive")
	// ErrCorruptArchive means the archive is not gzip, is truncated, fails its checksum or is
	// not a tar stream.
	ErrCorruptArchive = errors.New("corrupt bundle archive")
	// ErrInvalidBundle means the bundle's contents are wrong: Rego that does not parse, bad JSON
	// data, a bad manifest, data or packages outside the manifest roots, duplicate entries.
	ErrInvalidBundle = errors.New("invalid bundle")
)

// Load reads the bundle at path, a directory or a gzipped tar archive (.tar.gz), and returns it
// with a revision set (see Revision). maxBytes bounds the archive file and, separately, the
// total size of the files the bundle unpacks to (for a directory, of the files in it); it must
// be positive. Signatures are not verified here.
func Load(path string, maxBytes int64) (*opabundle.Bundle, error) {
	if maxBytes <= 0 {
		return nil, fmt.Errorf("load bundle %s: size limit must be positive, got %d", path, maxBytes)
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load bundle: %w", err)
	}
	var b *opabundle.Bundle
	switch {
	case info.IsDir():
		b, err = loadDir(path, maxBytes)
	case info.Mode().IsRegular():
		b, err = loadArchiveFile(path, info.Size(), maxBytes)
	default:
		err = fmt.Errorf("%w: not a directory or a regular file", ErrInvalidBundle)
	}
	if err != nil {
		return nil, fmt.Errorf("load bundle %s: %w", path, err)
	}
	return b, nil
}

// ReadArchive reads a gzipped tar bundle from r, reading at most maxBytes compressed bytes and
// unpacking at most maxBytes, and returns it with a revision set. It is what Load does for a
// file, for sources that are not files (a download).
func ReadArchive(r io.Reader, maxBytes int64) (*opabundle.Bundle, error) {
	if maxBytes <= 0 {
		return nil, fmt.Errorf("read bundle archive: size limit must be positive, got %d", maxBytes)
	}
	b, err := readArchive(r, "", maxBytes)
	if err != nil {
		return nil, fmt.Errorf("read bundle archive: %w", err)
	}
	return b, nil
}

// FromFS reads a bundle laid out as a directory tree in fsys (.manifest, data.json and .rego
// files at its root or below) and returns it with a revision set. Builtin uses it for the
// embedded policies; it has no size limit because its input is trusted, compiled-in content.
func FromFS(fsys fs.FS) (*opabundle.Bundle, error) {
	loader, err := opabundle.NewFSLoader(fsys)
	if err != nil {
		return nil, fmt.Errorf("read bundle from file system: %w", err)
	}
	b, err := read(loader, opabundle.DefaultSizeLimitBytes)
	if err != nil {
		return nil, fmt.Errorf("read bundle from file system: %w", err)
	}
	return b, nil
}

func loadDir(dir string, maxBytes int64) (*opabundle.Bundle, error) {
	// OPA bounds each file, not the whole tree; sum the regular files it will read (it does
	// not follow symlinks, and neither does this walk) and refuse the tree up front.
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		total += info.Size()
		if total > maxBytes {
			return fmt.Errorf("%w: files exceed the limit of %d bytes", ErrTooLarge, maxBytes)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	loader := opabundle.NewDirectoryLoader(dir).WithSizeLimitBytes(maxBytes)
	return read(loader, maxBytes)
}

func loadArchiveFile(path string, size, maxBytes int64) (*opabundle.Bundle, error) {
	if size > maxBytes {
		return nil, fmt.Errorf("%w: archive is %d bytes, over the limit of %d bytes", ErrTooLarge, size, maxBytes)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readArchive(f, path, maxBytes)
}

func readArchive(r io.Reader, baseURL string, maxBytes int64) (*opabundle.Bundle, error) {
	raw, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read archive: %w", err)
	}
	if int64(len(raw)) > maxBytes {
		return nil, fmt.Errorf("%w: archive is over the limit of %d bytes", ErrTooLarge, maxBytes)
	}
	// OPA's tarball loader neither checks entry names nor reads the gzip trailer (a stream cut
	// after the tar end marker loads as if complete) nor bounds the unpacked total, so the
	// archive is checked in full first and handed to OPA only once it is known to be sound.
	if err := checkArchive(raw, maxBytes); err != nil {
		return nil, err
	}
	loader := opabundle.NewTarballLoaderWithBaseURL(bytes.NewReader(raw), baseURL).WithSizeLimitBytes(maxBytes)
	return read(loader, maxBytes)
}

// read parses what loader yields as a Rego v1 bundle and sets its revision.
func read(loader opabundle.DirectoryLoader, maxBytes int64) (*opabundle.Bundle, error) {
	b, err := opabundle.NewCustomReader(loader).
		WithRegoVersion(ast.RegoV1).
		WithSizeLimitBytes(maxBytes).
		// Verification needs keys from policy.verification; without them a signature proves
		// nothing, so it is not read at all rather than failing every signed bundle.
		WithSkipBundleVerification(true).
		Read()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidBundle, err)
	}
	if b.Manifest.Revision == "" {
		b.Manifest.Revision = Revision(&b)
	}
	return &b, nil
}

package bundle

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

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

// ReadOptions control how Parse reads a bundle.
type ReadOptions struct {
	// MaxBytes bounds the archive and, separately, the total size of the files it unpacks to.
	// It must be positive.
	MaxBytes int64
	// Verifier, when set, refuses a bundle without a valid signature by one of its keys (see
	// Verify); nil reads signed and unsigned bundles alike without checking signatures.
	Verifier *Verifier
}

// Load reads the bundle at path, a directory or a gzipped tar archive (.tar.gz), and returns it
// with a revision set (see Revision). maxBytes bounds the archive file and, separately, the
// total size of the files the bundle unpacks to (for a directory, of the files in it); it must
// be positive. Signatures are not verified here; ReadPath and Parse with a Verifier do that.
func Load(path string, maxBytes int64) (*opabundle.Bundle, error) {
	if maxBytes <= 0 {
		return nil, fmt.Errorf("load bundle %s: size limit must be positive, got %d", path, maxBytes)
	}
	raw, err := ReadPath(path, maxBytes)
	if err != nil {
		return nil, fmt.Errorf("load bundle: %w", err)
	}
	b, err := parse(raw, path, ReadOptions{MaxBytes: maxBytes})
	if err != nil {
		return nil, fmt.Errorf("load bundle %s: %w", path, err)
	}
	return b, nil
}

// Open reads the bundle at path, a directory or a .tar.gz file, as Load does, and checks its
// signature when opts has a Verifier.
func Open(path string, opts ReadOptions) (*opabundle.Bundle, error) {
	if opts.MaxBytes <= 0 {
		return nil, fmt.Errorf("open bundle %s: size limit must be positive, got %d", path, opts.MaxBytes)
	}
	raw, err := ReadPath(path, opts.MaxBytes)
	if err != nil {
		return nil, fmt.Errorf("open bundle: %w", err)
	}
	b, err := parse(raw, path, opts)
	if err != nil {
		return nil, fmt.Errorf("open bundle %s: %w", path, err)
	}
	return b, nil
}

// ReadPath returns the bundle at path as a gzipped tar archive without parsing it: the file's
// bytes for an archive, the directory's regular files packed in name order for a directory
// (see Pack). It refuses anything over maxBytes with ErrTooLarge.
func ReadPath(path string, maxBytes int64) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	switch {
	case info.IsDir():
		raw, err := Pack(path, maxBytes)
		if err != nil {
			return nil, fmt.Errorf("read bundle %s: %w", path, err)
		}
		return raw, nil
	case info.Mode().IsRegular():
		if info.Size() > maxBytes {
			return nil, fmt.Errorf("read bundle %s: %w: archive is %d bytes, over the limit of %d bytes", path, ErrTooLarge, info.Size(), maxBytes)
		}
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		raw, err := readAllLimited(f, maxBytes)
		if err != nil {
			return nil, fmt.Errorf("read bundle %s: %w", path, err)
		}
		return raw, nil
	default:
		return nil, fmt.Errorf("read bundle %s: %w: not a directory or a regular file", path, ErrInvalidBundle)
	}
}

// ReadArchive reads a gzipped tar bundle from r, reading at most maxBytes compressed bytes and
// unpacking at most maxBytes, and returns it with a revision set. It is what Load does for a
// file, for sources that are not files (a download).
func ReadArchive(r io.Reader, maxBytes int64) (*opabundle.Bundle, error) {
	if maxBytes <= 0 {
		return nil, fmt.Errorf("read bundle archive: size limit must be positive, got %d", maxBytes)
	}
	raw, err := readAllLimited(r, maxBytes)
	if err != nil {
		return nil, fmt.Errorf("read bundle archive: %w", err)
	}
	b, err := parse(raw, "", ReadOptions{MaxBytes: maxBytes})
	if err != nil {
		return nil, fmt.Errorf("read bundle archive: %w", err)
	}
	return b, nil
}

// Parse reads the gzipped tar bundle in raw and returns it with a revision set. The archive is
// checked in full first (entry names and types, duplicates, truncation, gzip checksum, sizes),
// then its signature when opts has a Verifier, and only then is it handed to OPA's reader.
// Every error wraps exactly one of the package's sentinels.
func Parse(raw []byte, opts ReadOptions) (*opabundle.Bundle, error) {
	if opts.MaxBytes <= 0 {
		return nil, fmt.Errorf("parse bundle: size limit must be positive, got %d", opts.MaxBytes)
	}
	b, err := parse(raw, "", opts)
	if err != nil {
		return nil, fmt.Errorf("parse bundle: %w", err)
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
	b, err := read(loader, opabundle.DefaultSizeLimitBytes, nil)
	if err != nil {
		return nil, fmt.Errorf("read bundle from file system: %w", err)
	}
	setRevision(b)
	return b, nil
}

// readAllLimited reads all of r, failing with ErrTooLarge past maxBytes. On failure it still
// returns what it read, for download counters; callers must not use it.
func readAllLimited(r io.Reader, maxBytes int64) ([]byte, error) {
	raw, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return raw, err
	}
	if int64(len(raw)) > maxBytes {
		return raw, fmt.Errorf("%w: archive is over the limit of %d bytes", ErrTooLarge, maxBytes)
	}
	return raw, nil
}

// parse is Parse with the base URL OPA records as module URLs, and with a revision set.
func parse(raw []byte, baseURL string, opts ReadOptions) (*opabundle.Bundle, error) {
	b, err := parseArchive(raw, baseURL, opts)
	if err != nil {
		return nil, err
	}
	setRevision(b)
	return b, nil
}

// parseArchive reads raw without setting a derived revision (bundle build must not write one
// into the manifest it produces).
func parseArchive(raw []byte, baseURL string, opts ReadOptions) (*opabundle.Bundle, error) {
	if int64(len(raw)) > opts.MaxBytes {
		return nil, fmt.Errorf("%w: archive is %d bytes, over the limit of %d bytes", ErrTooLarge, len(raw), opts.MaxBytes)
	}
	// OPA's tarball loader neither checks entry names nor reads the gzip trailer (a stream cut
	// after the tar end marker loads as if complete) nor bounds the unpacked total, so the
	// archive is checked in full first and handed to OPA only once it is known to be sound.
	entries, err := scanArchive(raw, opts.MaxBytes, opts.Verifier != nil)
	if err != nil {
		return nil, err
	}
	var vc *opabundle.VerificationConfig
	if opts.Verifier != nil {
		if vc, err = opts.Verifier.verify(entries); err != nil {
			return nil, err
		}
	}
	loader := opabundle.NewTarballLoaderWithBaseURL(bytes.NewReader(raw), baseURL).WithSizeLimitBytes(opts.MaxBytes)
	return read(loader, opts.MaxBytes, vc)
}

// read parses what loader yields as a Rego v1 bundle. With vc, OPA's reader checks the
// signature again, so what Verdict accepts is never more than what OPA would.
func read(loader opabundle.DirectoryLoader, maxBytes int64, vc *opabundle.VerificationConfig) (*opabundle.Bundle, error) {
	r := opabundle.NewCustomReader(loader).
		WithRegoVersion(ast.RegoV1).
		WithSizeLimitBytes(maxBytes)
	if vc != nil {
		r = r.WithBundleVerificationConfig(vc)
	} else {
		// Without keys a signature proves nothing, so it is not read at all rather than
		// failing every signed bundle.
		r = r.WithSkipBundleVerification(true)
	}
	b, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidBundle, err)
	}
	return &b, nil
}

func setRevision(b *opabundle.Bundle) {
	if b.Manifest.Revision == "" {
		b.Manifest.Revision = Revision(b)
	}
}

package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// errUnpackedTooLarge stops decompression once the unpacked total passes the limit.
var errUnpackedTooLarge = errors.New("unpacked size over the limit")

// archiveEntry is one regular file of an archive, named as OPA's bundle reader names it for
// signature checks: the tar name without one leading slash.
type archiveEntry struct {
	name string
	data []byte
}

// checkArchive reads the whole gzipped tar in raw, without keeping file contents, and refuses
// it when it is not gzip, is truncated or corrupt, unpacks to more than maxBytes, or has an
// entry that is a link, has an unsafe name or appears twice.
func checkArchive(raw []byte, maxBytes int64) error {
	_, err := scanArchive(raw, maxBytes, false)
	return err
}

// scanArchive checks raw as checkArchive does and, with keep, also returns its regular files in
// archive order.
func scanArchive(raw []byte, maxBytes int64, keep bool) ([]archiveEntry, error) {
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, archiveError(err, maxBytes)
	}
	unpacked := &capReader{r: zr, left: maxBytes}
	tr := tar.NewReader(unpacked)
	seen := make(map[string]bool)
	var entries []archiveEntry
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, archiveError(err, maxBytes)
		}
		if err := checkEntry(hdr, maxBytes); err != nil {
			return nil, err
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		key := path.Clean("/" + hdr.Name)
		if seen[key] {
			return nil, fmt.Errorf("%w: entry %q appears twice", ErrInvalidBundle, hdr.Name)
		}
		seen[key] = true
		if !keep {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, archiveError(err, maxBytes)
		}
		entries = append(entries, archiveEntry{name: strings.TrimPrefix(hdr.Name, "/"), data: data})
	}
	// Read past the tar end marker to the gzip trailer: only then are truncation and checksum
	// errors seen.
	if _, err := io.Copy(io.Discard, unpacked); err != nil {
		return nil, archiveError(err, maxBytes)
	}
	return entries, nil
}

// checkEntry refuses an entry whose type or name is unsafe. A single leading slash is allowed:
// it is how `opa build` names every entry (/data.json, /.manifest) and means the bundle root.
func checkEntry(hdr *tar.Header, maxBytes int64) error {
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeDir, tar.TypeXGlobalHeader:
	case tar.TypeSymlink, tar.TypeLink:
		return fmt.Errorf("%w: entry %q is a link", ErrUnsafePath, hdr.Name)
	default:
		return fmt.Errorf("%w: entry %q has unsupported type %q", ErrUnsafePath, hdr.Name, hdr.Typeflag)
	}
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	if err := checkEntryName(hdr.Name); err != nil {
		return err
	}
	if hdr.Size > maxBytes {
		return fmt.Errorf("%w: entry %q is %d bytes, over the limit of %d bytes", ErrTooLarge, hdr.Name, hdr.Size, maxBytes)
	}
	return nil
}

func checkEntryName(name string) error {
	switch {
	case name == "" || strings.ContainsRune(name, 0):
		return fmt.Errorf("%w: entry name %q is empty or has a NUL byte", ErrUnsafePath, name)
	case strings.Contains(name, `\`):
		return fmt.Errorf("%w: entry %q has a backslash", ErrUnsafePath, name)
	case strings.HasPrefix(name, "//"):
		return fmt.Errorf("%w: entry %q is an absolute network path", ErrUnsafePath, name)
	case len(name) >= 2 && name[1] == ':' && isASCIILetter(name[0]):
		return fmt.Errorf("%w: entry %q is an absolute path with a drive letter", ErrUnsafePath, name)
	}
	for seg := range strings.SplitSeq(name, "/") {
		if seg == ".." {
			return fmt.Errorf("%w: entry %q escapes the bundle root with ..", ErrUnsafePath, name)
		}
	}
	return nil
}

func isASCIILetter(c byte) bool {
	return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

// archiveError classifies an error from gzip or tar.
func archiveError(err error, maxBytes int64) error {
	switch {
	case errors.Is(err, errUnpackedTooLarge):
		return fmt.Errorf("%w: archive unpacks to more than %d bytes", ErrTooLarge, maxBytes)
	case errors.Is(err, gzip.ErrHeader), errors.Is(err, io.EOF):
		return fmt.Errorf("%w: not a gzip archive", ErrCorruptArchive)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: archive is truncated", ErrCorruptArchive)
	case errors.Is(err, gzip.ErrChecksum):
		return fmt.Errorf("%w: gzip checksum mismatch", ErrCorruptArchive)
	case errors.Is(err, tar.ErrHeader):
		return fmt.Errorf("%w: not a tar archive or a bad tar header", ErrCorruptArchive)
	default:
		return fmt.Errorf("%w: %w", ErrCorruptArchive, err)
	}
}

// capReader reads from r until left bytes have been read, then fails with errUnpackedTooLarge
// if there is more.
type capReader struct {
	r    io.Reader
	left int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// Probe for one more byte: reaching the limit exactly is fine.
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n > 0 {
			return 0, errUnpackedTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

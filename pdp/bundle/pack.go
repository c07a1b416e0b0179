package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Pack returns the regular files under dir as a gzipped tar archive, in lexical order, named
// from the bundle root with a leading slash as `opa build` names them (/authz.rego,
// /.manifest), with no timestamps or owners, so the same files always pack to the same bytes.
// Symbolic links and other non-regular files are left out, as OPA's directory loader leaves
// them out. The files may total at most maxBytes (ErrTooLarge).
//
// Reading a directory through its packed archive means a directory bundle goes through the
// same checks as a downloaded one, and what is persisted as the last good bundle is exactly
// what was activated.
func Pack(dir string, maxBytes int64) ([]byte, error) {
	var total int64
	return gzipTar(func(tw *tar.Writer) error {
		return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
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
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return writeTarFile(tw, "/"+filepath.ToSlash(rel), data)
		})
	})
}

// gzipTar returns the gzipped tar archive that fill writes. Pack and Sign write every archive
// Verdict makes through it, so both come out in the same form.
func gzipTar(fill func(tw *tar.Writer) error) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	if err := fill(tw); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeTarFile writes one regular file entry with fixed metadata.
func writeTarFile(tw *tar.Writer, name string, data []byte) error {
	hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}

package testbed

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// FileEntry is what a file-by-file comparison of two exported filesystems
// looks at for one path; mtimes are left out (they differ between two real
// builds).
type FileEntry struct {
	Mode     fs.FileMode
	UID, GID uint32
	Link     string
	SHA256   string
}

func (f FileEntry) String() string {
	s := fmt.Sprintf("%v uid=%d gid=%d", f.Mode, f.UID, f.GID)
	if f.Link != "" {
		s += " -> " + f.Link
	}
	if f.SHA256 != "" {
		s += " sha256:" + f.SHA256[:12]
	}
	return s
}

// Tree lists every path under dir (slash-separated, relative) with its
// mode, owner, symlink target and content hash.
func Tree(dir string) (map[string]FileEntry, error) {
	out := map[string]FileEntry{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		e := FileEntry{Mode: info.Mode()}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			e.UID, e.GID = st.Uid, st.Gid
		}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			if e.Link, err = os.Readlink(p); err != nil {
				return err
			}
		case info.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			e.SHA256 = hex.EncodeToString(sum[:])
		}
		out[filepath.ToSlash(rel)] = e
		return nil
	})
	return out, err
}

// DiffTrees describes how two trees differ, one line per path in path
// order, naming the sides aName and bName ("" if they are equal).
func DiffTrees(a, b map[string]FileEntry, aName, bName string) string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var diffs []string
	for _, k := range keys {
		x, okx := a[k]
		y, oky := b[k]
		switch {
		case !okx:
			diffs = append(diffs, fmt.Sprintf("only in %s: /%s (%v)", bName, k, y))
		case !oky:
			diffs = append(diffs, fmt.Sprintf("only in %s: /%s (%v)", aName, k, x))
		case x != y:
			diffs = append(diffs, fmt.Sprintf("/%s: %s %v, %s %v", k, aName, x, bName, y))
		}
	}
	if len(diffs) > 40 {
		diffs = append(diffs[:40], fmt.Sprintf("... and %d more", len(diffs)-40))
	}
	return strings.Join(diffs, "\n")
}

// Untar writes the tar stream r (an `--output type=tar` export) into dir
// with its modes and, when run as root, its owners.
//
// The e2e comparisons export through tar rather than type=local: sending
// many files to a type=local client can deadlock the session
// (moby/buildkit#2950), which stalled CI on a node_modules export.
func Untar(r io.Reader, dir string) error {
	type dirMode struct {
		path string
		mode fs.FileMode
	}
	var dirs []dirMode
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		name := filepath.Clean(filepath.FromSlash(hdr.Name))
		if name == "." {
			continue
		}
		if !filepath.IsLocal(name) {
			return fmt.Errorf("tar entry %q leaves the directory", hdr.Name)
		}
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		mode := hdr.FileInfo().Mode()
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.Mkdir(p, 0o700); err != nil && !os.IsExist(err) {
				return err
			}
			dirs = append(dirs, dirMode{p, mode})
		case tar.TypeReg:
			f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		case tar.TypeSymlink:
			if err := os.Symlink(hdr.Linkname, p); err != nil {
				return err
			}
		case tar.TypeLink:
			target := filepath.Clean(filepath.FromSlash(hdr.Linkname))
			if !filepath.IsLocal(target) {
				return fmt.Errorf("tar hard link %q leaves the directory", hdr.Linkname)
			}
			if err := os.Link(filepath.Join(dir, target), p); err != nil {
				return err
			}
			continue
		default:
			return fmt.Errorf("tar entry %q: type %q not handled", hdr.Name, hdr.Typeflag)
		}
		if os.Geteuid() == 0 {
			if err := os.Lchown(p, hdr.Uid, hdr.Gid); err != nil {
				return err
			}
		}
		if hdr.Typeflag == tar.TypeReg {
			// After the chown, which clears setuid and setgid bits.
			if err := os.Chmod(p, mode); err != nil {
				return err
			}
		}
	}
	// Directory modes last, so read-only directories could be filled.
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Chmod(dirs[i].path, dirs[i].mode); err != nil {
			return err
		}
	}
	return nil
}

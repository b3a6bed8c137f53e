package testbed

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/klauspost/compress/gzip"
)

// layerWriter writes one gzip-compressed image layer tarball.
type layerWriter struct {
	f    *os.File
	gz   *gzip.Writer
	tw   *tar.Writer
	seen map[string]bool
	// links maps a source inode to the first name written for it, so hard
	// links stay hard links.
	links map[[2]uint64]string
	err   error
}

// layerTime is the mtime of entries the test bed makes itself, so that
// rebuilding an image from the same inputs gives the same layer.
var layerTime = time.Unix(0, 0).UTC()

func newLayerWriter(file string) (*layerWriter, error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	// Speed over size: layers live on this machine only.
	gz, err := gzip.NewWriterLevel(f, gzip.BestSpeed)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &layerWriter{f: f, gz: gz, tw: tar.NewWriter(gz), seen: map[string]bool{}, links: map[[2]uint64]string{}}, nil
}

func (w *layerWriter) write(hdr *tar.Header, r io.Reader) {
	if w.err != nil {
		return
	}
	hdr.Name = strings.TrimPrefix(path.Clean("/"+hdr.Name), "/")
	if hdr.Name == "" {
		return
	}
	if hdr.Typeflag == tar.TypeDir {
		hdr.Name += "/"
	}
	if w.seen[hdr.Name] {
		return
	}
	w.seen[hdr.Name] = true
	hdr.Format = tar.FormatPAX
	if err := w.tw.WriteHeader(hdr); err != nil {
		w.err = fmt.Errorf("layer %s: %s: %w", w.f.Name(), hdr.Name, err)
		return
	}
	if r != nil {
		if _, err := io.Copy(w.tw, r); err != nil {
			w.err = fmt.Errorf("layer %s: %s: %w", w.f.Name(), hdr.Name, err)
		}
	}
}

// Dir adds a directory (and its missing parents, 0755).
func (w *layerWriter) Dir(name string, mode int64) {
	w.parents(name)
	w.write(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode, ModTime: layerTime}, nil)
}

func (w *layerWriter) parents(name string) {
	dir := path.Dir(strings.Trim(name, "/"))
	if dir == "." || dir == "/" {
		return
	}
	w.parents(dir)
	w.write(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: layerTime}, nil)
}

// Bytes adds a regular file with the given content.
func (w *layerWriter) Bytes(name string, data []byte, mode int64) {
	w.parents(name)
	w.write(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: layerTime}, strings.NewReader(string(data)))
}

// Symlink adds a symbolic link.
func (w *layerWriter) Symlink(name, target string) {
	w.parents(name)
	w.write(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777, ModTime: layerTime}, nil)
}

// File adds a host file under name with the given mode.
func (w *layerWriter) File(name, src string, mode int64) {
	if w.err != nil {
		return
	}
	f, err := os.Open(src)
	if err != nil {
		w.err = err
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		w.err = err
		return
	}
	w.parents(name)
	w.write(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: st.Size(), ModTime: layerTime}, f)
}

// Tree adds the host directory src under prefix, keeping modes, owners,
// symlinks and hard links. skip reports paths (relative to src, slash
// separated) whose content is left out; the entry itself is kept if it is
// a directory. fixMode may change the mode of an entry.
func (w *layerWriter) Tree(src, prefix string, skip func(rel string) bool, fixMode func(rel string, mode int64) int64) {
	if w.err != nil {
		return
	}
	w.parents(path.Join(prefix, "x"))
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		skipped := skip != nil && skip(rel)
		if skipped && !info.IsDir() {
			return nil
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		if info.Mode()&(fs.ModeDevice|fs.ModeCharDevice|fs.ModeNamedPipe|fs.ModeSocket) != 0 {
			return nil // the runtime provides /dev; nothing else needs these
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = path.Join(prefix, rel)
		hdr.Uname, hdr.Gname = "", ""
		hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			hdr.Uid, hdr.Gid = int(st.Uid), int(st.Gid)
			if info.Mode().IsRegular() && st.Nlink > 1 {
				key := [2]uint64{uint64(st.Dev), uint64(st.Ino)}
				if first, ok := w.links[key]; ok {
					hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
					w.write(hdr, nil)
					return nil
				}
				w.links[key] = strings.TrimPrefix(path.Clean("/"+hdr.Name), "/")
			}
		}
		if fixMode != nil {
			hdr.Mode = fixMode(rel, hdr.Mode)
		}
		if info.IsDir() {
			w.write(hdr, nil)
			if skipped {
				return filepath.SkipDir
			}
			return nil
		}
		if !info.Mode().IsRegular() {
			w.write(hdr, nil)
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		w.write(hdr, f)
		return nil
	})
	if err != nil && w.err == nil {
		w.err = err
	}
}

// Close finishes the layer file.
func (w *layerWriter) Close() error {
	if w.err == nil {
		w.err = w.tw.Close()
	}
	if w.err == nil {
		w.err = w.gz.Close()
	}
	if err := w.f.Close(); w.err == nil {
		w.err = err
	}
	return w.err
}

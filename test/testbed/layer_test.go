package testbed

import (
	"archive/tar"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

func readLayer(t *testing.T, file string) map[string]*tar.Header {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	out := map[string]*tar.Header{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, dup := out[hdr.Name]; dup {
			t.Errorf("%s written twice", hdr.Name)
		}
		out[hdr.Name] = hdr
	}
}

func TestLayerWriterTree(t *testing.T) {
	src := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(src, "bin"), 0o755))
	must(os.MkdirAll(filepath.Join(src, "skip/inner"), 0o755))
	must(os.WriteFile(filepath.Join(src, "bin/tool"), []byte("#!/bin/sh\n"), 0o444))
	must(os.WriteFile(filepath.Join(src, "skip/inner/x"), []byte("x"), 0o644))
	must(os.Link(filepath.Join(src, "bin/tool"), filepath.Join(src, "bin/tool2")))
	must(os.Symlink("tool", filepath.Join(src, "bin/link")))

	file := filepath.Join(t.TempDir(), "layer.tar.gz")
	w, err := newLayerWriter(file)
	must(err)
	w.Tree(src, "usr/local/thing", func(rel string) bool { return rel == "skip" }, func(rel string, mode int64) int64 {
		if rel == "bin/tool" {
			return mode | 0o111
		}
		return mode
	})
	w.Dir("go", 0o1777)
	w.Bytes("etc/passwd", []byte("root:x:0:0::/root:/bin/sh\n"), 0o644)
	must(w.Close())

	h := readLayer(t, file)
	for _, dir := range []string{"usr/", "usr/local/", "usr/local/thing/", "usr/local/thing/bin/", "usr/local/thing/skip/", "etc/"} {
		if h[dir] == nil || h[dir].Typeflag != tar.TypeDir {
			t.Errorf("missing directory %s", dir)
		}
	}
	if h["usr/local/thing/skip/inner/"] != nil || h["usr/local/thing/skip/inner/x"] != nil {
		t.Error("content of a skipped directory was written")
	}
	if tool := h["usr/local/thing/bin/tool"]; tool == nil || tool.Mode&0o111 != 0o111 || tool.Typeflag != tar.TypeReg {
		t.Errorf("bin/tool: %+v, want a regular file with exec bits", tool)
	}
	if l := h["usr/local/thing/bin/tool2"]; l == nil || l.Typeflag != tar.TypeLink || l.Linkname != "usr/local/thing/bin/tool" {
		t.Errorf("bin/tool2: %+v, want a hard link to usr/local/thing/bin/tool", l)
	}
	if l := h["usr/local/thing/bin/link"]; l == nil || l.Typeflag != tar.TypeSymlink || l.Linkname != "tool" {
		t.Errorf("bin/link: %+v, want a symlink to tool", l)
	}
	if g := h["go/"]; g == nil || g.Mode != 0o1777 {
		t.Errorf("go/: %+v, want mode 1777", g)
	}
	if p := h["etc/passwd"]; p == nil || p.Size != int64(len("root:x:0:0::/root:/bin/sh\n")) {
		t.Errorf("etc/passwd: %+v", p)
	}
}

func TestBuildkitdConfig(t *testing.T) {
	got := buildkitdConfig("127.0.0.1:5000")
	for _, want := range []string{`mirrors = ["127.0.0.1:5000"]`, `[registry."127.0.0.1:5000"]`, "http = true", `snapshotter = "overlayfs"`} {
		if !strings.Contains(got, want) {
			t.Errorf("config lacks %q:\n%s", want, got)
		}
	}
}

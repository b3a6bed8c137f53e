package testbed

import (
	"archive/tar"
	"bytes"
	"io/fs"
	"os"
	"testing"
)

func TestUntar(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(h *tar.Header, body string) {
		h.Size = int64(len(body))
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	add(&tar.Header{Typeflag: tar.TypeDir, Name: "app/", Mode: 0o555, Uid: 1000, Gid: 1000}, "")
	add(&tar.Header{Typeflag: tar.TypeReg, Name: "app/run", Mode: 0o4755, Uid: 1000, Gid: 1000}, "#!/bin/sh\n")
	add(&tar.Header{Typeflag: tar.TypeSymlink, Name: "app/link", Linkname: "run"}, "")
	add(&tar.Header{Typeflag: tar.TypeLink, Name: "app/hard", Linkname: "app/run"}, "")
	add(&tar.Header{Typeflag: tar.TypeReg, Name: "deep/er/file", Mode: 0o644}, "x")
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	if err := Untar(bytes.NewReader(buf.Bytes()), dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir+"/app", 0o755) })
	tree, err := Tree(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := tree["app"].Mode; got != fs.ModeDir|0o555 {
		t.Errorf("app mode %v, want dr-xr-xr-x", got)
	}
	if got := tree["app/run"].Mode; got != fs.ModeSetuid|0o755 {
		t.Errorf("app/run mode %v, want setuid 0755", got)
	}
	if tree["app/hard"].SHA256 != tree["app/run"].SHA256 || tree["app/run"].SHA256 == "" {
		t.Errorf("hard link content %q, file %q", tree["app/hard"].SHA256, tree["app/run"].SHA256)
	}
	if got := tree["app/link"].Link; got != "run" {
		t.Errorf("symlink target %q", got)
	}
	if os.Geteuid() == 0 && tree["app/run"].UID != 1000 {
		t.Errorf("app/run owner %d, want 1000", tree["app/run"].UID)
	}
	if _, ok := tree["deep/er/file"]; !ok {
		t.Errorf("deep/er/file missing: %v", tree)
	}

	var bad bytes.Buffer
	tw = tar.NewWriter(&bad)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "../escape", Mode: 0o644})
	tw.Close()
	if err := Untar(&bad, t.TempDir()); err == nil {
		t.Error("a path leaving the directory was written")
	}
}

package cachetool

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// entry is what Copy must keep of one path.
type entry struct {
	mode     uint32
	uid, gid uint32
	mtime    int64
	data     string // file content or link target
	link     string // first path of the same inode, for hard links
}

func tree(t *testing.T, root string) map[string]entry {
	t.Helper()
	out := map[string]entry{}
	first := map[[2]uint64]string{}
	var paths []string
	if err := filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		paths = append(paths, p)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	sort.Strings(paths)
	for _, p := range paths {
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, p)
		e := entry{mode: st.Mode, uid: st.Uid, gid: st.Gid, mtime: st.Mtim.Nano()}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			dt, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			e.data = string(dt)
			id := [2]uint64{uint64(st.Dev), st.Ino}
			if f, ok := first[id]; ok {
				e.link = f
			} else {
				first[id] = rel
			}
		case unix.S_IFLNK:
			e.data, _ = os.Readlink(p)
		}
		out[rel] = e
	}
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// cacheTree makes a small cache: read-only directories as in Go's module
// cache, another user's files, a set-gid directory, a symlink, a hard link,
// a FIFO, and files whose mtimes are an hour and two days old.
func cacheTree(t *testing.T, now time.Time) string {
	src := filepath.Join(t.TempDir(), "src")
	must(t, os.MkdirAll(filepath.Join(src, "mod/example.com/m@v1.0.0"), 0o755))
	must(t, os.WriteFile(filepath.Join(src, "mod/example.com/m@v1.0.0/go.mod"), []byte("module example.com/m\n"), 0o444))
	must(t, os.Chmod(filepath.Join(src, "mod/example.com/m@v1.0.0"), 0o555))
	must(t, os.MkdirAll(filepath.Join(src, "build/0a"), 0o2775))
	must(t, os.Chmod(filepath.Join(src, "build/0a"), 0o2775))
	must(t, os.WriteFile(filepath.Join(src, "build/0a/new-d"), []byte("new"), 0o644))
	must(t, os.WriteFile(filepath.Join(src, "build/0a/old-d"), []byte("old"), 0o644))
	must(t, os.Link(filepath.Join(src, "build/0a/new-d"), filepath.Join(src, "build/0a/new-link")))
	must(t, os.Symlink("../mod", filepath.Join(src, "build/modlink")))
	must(t, unix.Mkfifo(filepath.Join(src, "build/fifo"), 0o640))
	must(t, os.Lchown(filepath.Join(src, "build"), 1000, 1001))
	must(t, os.Lchown(filepath.Join(src, "build/0a/new-d"), 1000, 1001))
	must(t, os.Lchown(filepath.Join(src, "build/modlink"), 1000, 1001))
	must(t, os.Chtimes(filepath.Join(src, "build/0a/new-d"), now.Add(-time.Hour), now.Add(-time.Hour)))
	must(t, os.Chtimes(filepath.Join(src, "build/0a/old-d"), now.Add(-48*time.Hour), now.Add(-48*time.Hour)))
	old := unix.NsecToTimespec(now.Add(-72 * time.Hour).UnixNano())
	must(t, unix.UtimesNanoAt(unix.AT_FDCWD, filepath.Join(src, "build/modlink"), []unix.Timespec{old, old}, unix.AT_SYMLINK_NOFOLLOW))
	for _, d := range []string{"build/0a", "build", "mod/example.com/m@v1.0.0", "mod/example.com", "mod", ""} {
		must(t, os.Chtimes(filepath.Join(src, d), now.Add(-5*time.Hour), now.Add(-5*time.Hour)))
	}
	return src
}

func TestCopyKeepsEverything(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to give files another owner")
	}
	now := time.Now()
	src := cacheTree(t, now)
	dst := filepath.Join(t.TempDir(), "out", "hoist-go-mod")
	st, err := Copy(src, dst, 0, now)
	if err != nil {
		t.Fatal(err)
	}
	want, got := tree(t, src), tree(t, dst)
	for p, w := range want {
		if g, ok := got[p]; !ok || g != w {
			t.Errorf("%s: copied as %+v, want %+v", p, g, w)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%s: not in the source", p)
		}
	}
	if st.Skipped != 0 || st.Files != 6 {
		t.Errorf("stats %+v, want 6 files and none skipped", st)
	}
}

func TestCopyKeepLeavesOutUnusedFiles(t *testing.T) {
	now := time.Now()
	src := cacheTree(t, now)
	dst := filepath.Join(t.TempDir(), "hoist-go-build")
	st, err := Copy(filepath.Join(src, "build"), dst, 24*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	got := tree(t, dst)
	if _, ok := got["0a/old-d"]; ok {
		t.Errorf("a file unused for two days was kept")
	}
	for _, p := range []string{"0a/new-d", "0a/new-link", "modlink", "fifo", "0a"} {
		if _, ok := got[p]; !ok {
			t.Errorf("%s left out", p)
		}
	}
	if got["0a/new-link"].link != "0a/new-d" {
		t.Errorf("hard link not kept: %+v", got["0a/new-link"])
	}
	if st.Skipped != 1 || st.SkippedBytes != 3 {
		t.Errorf("stats %+v, want one file of 3 bytes left out", st)
	}
}

func TestCopyRefusesExistingDestination(t *testing.T) {
	src := cacheTree(t, time.Now())
	dst := t.TempDir()
	if _, err := Copy(src, dst, 0, time.Now()); err == nil {
		t.Errorf("copied over an existing directory")
	}
}

func TestMain(t *testing.T) {
	var b bytes.Buffer
	if _, ok := Main(nil, &b); ok {
		t.Errorf("no arguments is the frontend, not a subcommand")
	}
	if _, ok := Main([]string{"-version"}, &b); ok {
		t.Errorf("-version is the frontend's flag")
	}
	src := cacheTree(t, time.Now())
	dst := filepath.Join(t.TempDir(), "c")
	if code, ok := Main([]string{Export, "-keep", "24h", filepath.Join(src, "build"), dst}, &b); !ok || code != 0 {
		t.Fatalf("export: code %d ok %v: %s", code, ok, b.String())
	}
	if !strings.Contains(b.String(), "1 files (3 bytes) unused for 24h0m0s left out") {
		t.Errorf("export output: %s", b.String())
	}
	stamp := filepath.Join(t.TempDir(), "trim.txt")
	if code, ok := Main([]string{Stamp, "-from", "registry.example.com/c@sha256:00", stamp}, &b); !ok || code != 0 {
		t.Fatalf("stamp: code %d ok %v: %s", code, ok, b.String())
	}
	if code, ok := Main([]string{Export, "only-one-arg"}, &b); !ok || code == 0 {
		t.Errorf("export with one argument: code %d ok %v", code, ok)
	}
}

// goCmd runs go with its build cache at cache and returns the packages it
// compiled (go build -x).
func goCmd(t *testing.T, dir, cache string, args ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"build", "-x"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOCACHE="+cache, "GOFLAGS=", "GOENV=off", "GOWORK=off", "GOTOOLCHAIN=local", "GOPROXY=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build %v: %v\n%s", args, err, out)
	}
	var pkgs []string
	for _, l := range strings.Split(string(out), "\n") {
		if i := strings.Index(l, "/compile "); i >= 0 {
			f := strings.Fields(l[i:])
			for j := range f {
				if f[j] == "-p" && j+1 < len(f) {
					pkgs = append(pkgs, f[j+1])
				}
			}
		}
	}
	return pkgs
}

// TestStampKeepsSeededGoBuildCache shows why seeding stamps trim.txt: a Go
// build cache restored from an image exported six days ago (its mtimes
// and trim.txt as they were then) loses, at the end of the first go command,
// every entry that command did not use; with the stamp the second command
// finds its package compiled.
func TestStampKeepsSeededGoBuildCache(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	mod := t.TempDir()
	must(t, os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.com/m\n\ngo 1.21\n"), 0o644))
	for _, p := range []string{"a", "b"} {
		must(t, os.MkdirAll(filepath.Join(mod, p), 0o755))
		must(t, os.WriteFile(filepath.Join(mod, p, p+".go"), []byte("package "+p+"\n\nfunc F() int { return 1 }\n"), 0o644))
	}
	for _, stamp := range []bool{false, true} {
		t.Run(fmt.Sprintf("stamp=%v", stamp), func(t *testing.T) {
			cache := filepath.Join(t.TempDir(), "go-build")
			if got := goCmd(t, mod, cache, "./a", "./b"); len(got) != 2 {
				t.Fatalf("first build compiled %v, want a and b", got)
			}
			// The cache as an image six days old restores it.
			then := time.Now().Add(-6 * 24 * time.Hour)
			must(t, os.WriteFile(filepath.Join(cache, "trim.txt"), []byte(strconv.FormatInt(then.Unix(), 10)), 0o644))
			must(t, filepath.Walk(cache, func(p string, _ os.FileInfo, err error) error {
				if err != nil {
					return err
				}
				return os.Chtimes(p, then, then)
			}))
			if stamp {
				must(t, WriteStamp(filepath.Join(cache, "trim.txt"), time.Now()))
			}
			if got := goCmd(t, mod, cache, "./a"); len(got) != 0 {
				t.Fatalf("building a again compiled %v", got)
			}
			got := goCmd(t, mod, cache, "./b")
			if stamp && len(got) != 0 {
				t.Errorf("with the stamp, b was compiled again (%v): go trimmed the seeded cache", got)
			}
			if !stamp && len(got) != 1 {
				t.Errorf("without the stamp, b was not compiled again (%v): this test no longer shows what the stamp is for", got)
			}
		})
	}
}

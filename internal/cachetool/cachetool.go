// Package cachetool is what the steps hoist adds for CI caches run: the
// frontend's own static binary, so that exporting and seeding a cache needs
// nothing from the build's base images (no shell, no cp, no find).
package cachetool

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// Subcommands of the frontend binary (cmd/hoist-frontend). The gateway runs
// the frontend without arguments, so these never clash with it.
const (
	// Export copies a cache mount's content out: Export SRC DST, with
	// -keep DURATION leaving out regular files not modified for that long.
	Export = "cache-export"
	// Stamp writes the current time as Go's build cache records its last
	// trim (trim.txt): Stamp -from IMAGE FILE.
	Stamp = "cache-stamp"
)

// Main runs a subcommand named by args[0]; ok is false when args name none,
// and the binary is then the frontend.
func Main(args []string, stderr io.Writer) (code int, ok bool) {
	if len(args) == 0 {
		return 0, false
	}
	var err error
	switch args[0] {
	case Export:
		err = exportCmd(args[1:], stderr)
	case Stamp:
		err = stampCmd(args[1:], stderr)
	default:
		return 0, false
	}
	if err != nil {
		fmt.Fprintf(stderr, "hoist %s: %v\n", args[0], err)
		return 1, true
	}
	return 0, true
}

func exportCmd(args []string, stderr io.Writer) error {
	fl := flag.NewFlagSet(Export, flag.ContinueOnError)
	fl.SetOutput(stderr)
	keep := fl.Duration("keep", 0, "leave out regular files not modified for this long (0: keep all)")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() != 2 {
		return errors.New("usage: " + Export + " [-keep DURATION] SRC DST")
	}
	st, err := Copy(fl.Arg(0), fl.Arg(1), *keep, time.Now())
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("hoist: exported %s to %s: %d files, %d bytes", fl.Arg(0), fl.Arg(1), st.Files, st.Bytes)
	if *keep > 0 {
		msg += fmt.Sprintf("; %d files (%d bytes) unused for %s left out", st.Skipped, st.SkippedBytes, *keep)
	}
	fmt.Fprintln(stderr, msg)
	return nil
}

func stampCmd(args []string, stderr io.Writer) error {
	fl := flag.NewFlagSet(Stamp, flag.ContinueOnError)
	fl.SetOutput(stderr)
	// The image is only reported: it is in the command so that the step's
	// cache key changes with the cache image, and a new one gets a new stamp.
	from := fl.String("from", "", "the cache image seeded")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() != 1 {
		return errors.New("usage: " + Stamp + " -from IMAGE FILE")
	}
	now := time.Now()
	if err := WriteStamp(fl.Arg(0), now); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "hoist: Go build cache seeded from %s: trimmed by go no sooner than %s\n", *from, now.Add(24*time.Hour).UTC().Format(time.RFC3339))
	return nil
}

// WriteStamp writes t as Go's build cache records its last trim. Go trims
// a build cache at most once a day, deleting entries whose mtime is more
// than five days old; a cache restored from an image keeps the mtimes it
// had when it was exported, so the first go command of a build would delete
// everything it did not use itself, including what the next go command
// needs. With a fresh stamp go leaves the seeded cache alone for a day,
// refreshing the mtime of each entry it uses.
func WriteStamp(file string, t time.Time) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	return os.WriteFile(file, []byte(strconv.FormatInt(t.Unix(), 10)), 0o644)
}

// Stats counts what Copy copied and left out.
type Stats struct {
	Files, Skipped      int
	Bytes, SkippedBytes int64
}

type inode struct{ dev, ino uint64 }

// Copy copies the tree at src to dst (which must not exist) as cp -a does:
// modes, ownership, mtimes, symlinks and hard links within the tree are
// kept. With keep > 0, regular files whose mtime is older than now-keep
// are left out (directories stay). Sockets and devices are left out; a
// cache has no use for them.
func Copy(src, dst string, keep time.Duration, now time.Time) (Stats, error) {
	c := &copier{links: map[inode]string{}, now: now, keep: keep}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return c.st, err
	}
	err := c.copy(src, dst)
	return c.st, err
}

type copier struct {
	st    Stats
	links map[inode]string
	now   time.Time
	keep  time.Duration
}

func (c *copier) copy(src, dst string) error {
	var st unix.Stat_t
	if err := unix.Lstat(src, &st); err != nil {
		return err
	}
	mode := st.Mode & unix.S_IFMT
	perm := st.Mode & 0o7777
	mtime := time.Unix(st.Mtim.Unix())
	switch mode {
	case unix.S_IFDIR:
		if err := os.Mkdir(dst, 0o700); err != nil {
			return err
		}
		f, err := os.Open(src)
		if err != nil {
			return err
		}
		names, err := f.Readdirnames(-1)
		f.Close()
		if err != nil {
			return err
		}
		for _, n := range names {
			if err := c.copy(filepath.Join(src, n), filepath.Join(dst, n)); err != nil {
				return err
			}
		}
	case unix.S_IFREG:
		if c.keep > 0 && mtime.Before(c.now.Add(-c.keep)) {
			c.st.Skipped++
			c.st.SkippedBytes += st.Size
			return nil
		}
		if st.Nlink > 1 {
			id := inode{uint64(st.Dev), uint64(st.Ino)}
			if first, ok := c.links[id]; ok {
				c.st.Files++
				return os.Link(first, dst)
			}
			c.links[id] = dst
		}
		if err := copyFile(src, dst); err != nil {
			return err
		}
		c.st.Files++
		c.st.Bytes += st.Size
	case unix.S_IFLNK:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := os.Symlink(target, dst); err != nil {
			return err
		}
		c.st.Files++
	case unix.S_IFIFO:
		if err := unix.Mkfifo(dst, 0o600); err != nil {
			return err
		}
		c.st.Files++
	default:
		return nil
	}
	if err := unix.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil {
		return fmt.Errorf("chown %s: %w", dst, err)
	}
	if mode != unix.S_IFLNK {
		// After chown, which clears set-id bits.
		if err := unix.Chmod(dst, perm); err != nil {
			return fmt.Errorf("chmod %s: %w", dst, err)
		}
	}
	ts := []unix.Timespec{st.Atim, st.Mtim}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, dst, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times of %s: %w", dst, err)
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

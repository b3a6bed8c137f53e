package llbgen

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
)

// execOp is an exec op of a marshalled definition, with its source line and
// the identifiers of its inputs' source ops ("" for inputs that are not
// source ops).
type execOp struct {
	args    string
	mounts  []*pb.Mount
	line    int32
	sources []string
}

// execOps lists the definition's exec ops in definition order.
func execOps(t *testing.T, out *convertOutput) []execOp {
	t.Helper()
	if out.Err != nil {
		t.Fatal(out.Err)
	}
	ops := make([]*pb.Op, len(out.Def.Def))
	byDigest := map[digest.Digest]*pb.Op{}
	for i, dt := range out.Def.Def {
		var op pb.Op
		if err := op.UnmarshalVT(dt); err != nil {
			t.Fatal(err)
		}
		ops[i] = &op
		byDigest[digest.FromBytes(dt)] = &op
	}
	var execs []execOp
	for i, op := range ops {
		ex := op.GetExec()
		if ex == nil {
			continue
		}
		e := execOp{args: strings.Join(ex.Meta.Args, " "), mounts: ex.Mounts}
		if locs, ok := out.Def.Source.Locations[digest.FromBytes(out.Def.Def[i]).String()]; ok {
			for _, l := range locs.Locations {
				for _, r := range l.Ranges {
					e.line = r.Start.Line
				}
			}
		}
		for _, in := range op.Inputs {
			src := ""
			if in2, ok := byDigest[digest.Digest(in.Digest)]; ok && in2.GetSource() != nil {
				src = in2.GetSource().Identifier
			}
			e.sources = append(e.sources, src)
		}
		execs = append(execs, e)
	}
	return execs
}

func findExec(t *testing.T, ops []execOp, substr string) execOp {
	t.Helper()
	for _, e := range ops {
		if strings.Contains(e.args, substr) {
			return e
		}
	}
	t.Fatalf("no exec op runs %q", substr)
	return execOp{}
}

func cacheMountAt(e execOp, dest string) *pb.Mount {
	for _, m := range e.mounts {
		if m.MountType == pb.MountType_CACHE && m.Dest == dest {
			return m
		}
	}
	return nil
}

func out(t *testing.T, name string) *convertOutput {
	t.Helper()
	dir := filepath.Join("testdata", "rewrite", name)
	dt, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	return convertRewritten(context.Background(), dt, rewriteCase(t, dir, dt), convertCase{})
}

// cacheOwners lists "uid:gid:mode" of every mkdir /cache file op.
func cacheOwners(t *testing.T, o *convertOutput) map[string]bool {
	t.Helper()
	got := map[string]bool{}
	for _, dt := range o.Def.Def {
		var op pb.Op
		if err := op.UnmarshalVT(dt); err != nil {
			t.Fatal(err)
		}
		for _, a := range op.GetFile().GetActions() {
			mk := a.GetMkdir()
			if mk == nil || mk.Path != "/cache" {
				continue
			}
			var uid, gid uint32
			if o := mk.Owner; o != nil {
				uid, gid = o.User.GetByID(), o.Group.GetByID()
			}
			got[fmt.Sprintf("%d:%d:%d", uid, gid, mk.Mode)] = true
		}
	}
	return got
}

func convertRewriteCase(t *testing.T, name string) ([]execOp, *Result) {
	t.Helper()
	dir := filepath.Join("testdata", "rewrite", name)
	dt, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	rw := rewriteCase(t, dir, dt)
	out := convertRewritten(context.Background(), dt, rw, convertCase{})
	return execOps(t, out), rw
}

// TestLLBCacheMounts checks (ids carry dockerfile2llb's "/" namespace prefix) the exec ops dockerfile2llb makes of hoist's
// rewrite: cache mounts with hoist's ids, sharing and ownership, and the
// inserted download mapped to the user's COPY line.
func TestLLBCacheMounts(t *testing.T) {
	t.Run("root", func(t *testing.T) {
		ops, _ := convertRewriteCase(t, "basic")
		build := findExec(t, ops, "go build")
		mod := cacheMountAt(build, "/go/pkg/mod")
		gb := cacheMountAt(build, "/root/.cache/go-build")
		if mod == nil || gb == nil {
			t.Fatalf("go build mounts: %v", build.mounts)
		}
		if mod.CacheOpt.ID != "/hoist-go-mod" || mod.CacheOpt.Sharing != pb.CacheSharingOpt_SHARED {
			t.Errorf("module cache mount: %v", mod.CacheOpt)
		}
		if gb.CacheOpt.ID != "/hoist-go-build" {
			t.Errorf("build cache mount: %v", gb.CacheOpt)
		}
		if build.line != 4 {
			t.Errorf("go build at line %d, want the user's line 4", build.line)
		}
	})
	t.Run("verified download", func(t *testing.T) {
		// The download hoist inserts where the module cache is seeded,
		// to verify it before the build reads it.
		ops, _ := convertRewriteCase(t, "cache-from")
		dl := findExec(t, ops, "go mod download")
		if m := cacheMountAt(dl, "/go/pkg/mod"); m == nil || m.CacheOpt.ID != "/hoist-go-mod" {
			t.Errorf("download mounts: %v", dl.mounts)
		}
		if cacheMountAt(dl, "/root/.cache/go-build") != nil {
			t.Errorf("download needs no build cache: %v", dl.mounts)
		}
		if dl.line != 4 {
			t.Errorf("inserted download at line %d, want line 4 of the RUN that needs it", dl.line)
		}
	})
	t.Run("numeric user", func(t *testing.T) {
		ops, _ := convertRewriteCase(t, "numeric-user")
		build := findExec(t, ops, "go build")
		gb := cacheMountAt(build, "/tmp/home/.cache/go-build")
		if gb == nil {
			t.Fatalf("no build cache at $HOME/.cache/go-build: %v", build.mounts)
		}
		if gb.CacheOpt.ID != "/hoist-go-build-1000" {
			t.Errorf("id %q", gb.CacheOpt.ID)
		}
		// dockerfile2llb makes a cache mount's ownership with a mkdir of
		// /cache in a file op that is the mount's input.
		if got := cacheOwners(t, out(t, "numeric-user")); !got["1000:1000:493"] {
			t.Errorf("no mkdir /cache owned by 1000:1000 mode 0755 for the cache mounts: %v", got)
		}
	})
	t.Run("user created in the build", func(t *testing.T) {
		ops, _ := convertRewriteCase(t, "nonroot")
		build := findExec(t, ops, "go build")
		if m := cacheMountAt(build, "/home/builder/.cache/go-build"); m == nil || !strings.HasPrefix(m.CacheOpt.ID, "/hoist-go-build-builder-") {
			t.Fatalf("build cache mount: %v", build.mounts)
		}
		if got := cacheOwners(t, out(t, "nonroot")); !got["0:0:511"] {
			t.Errorf("no world-writable mkdir /cache for a user of unknown uid: %v", got)
		}
	})
	t.Run("exported stage keeps the module cache", func(t *testing.T) {
		ops, _ := convertRewriteCase(t, "exported")
		build := findExec(t, ops, "go build")
		if cacheMountAt(build, "/go/pkg/mod") != nil {
			t.Errorf("module cache mounted in the exported stage")
		}
		if cacheMountAt(build, "/root/.cache/go-build") == nil {
			t.Errorf("no build cache mount")
		}
	})
}

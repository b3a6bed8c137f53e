package frontend

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/buildkit/util/grpcerrors"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/containerd/platforms"
	"github.com/hoistbuild/hoist/llbgen"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

var linuxAmd64 = ocispecs.Platform{OS: "linux", Architecture: "amd64"}

// fakeFetcher answers per candidate host with scripted results.
type fakeFetcher struct {
	mu      sync.Mutex
	resolve func(ctx context.Context, ref string, n int) (digest.Digest, error) // n: attempt count for ref
	pullErr func(ref string) error
	config  func(ref string) []byte // nil: no config
	calls   []string
	counts  map[string]int
}

func (f *fakeFetcher) record(s string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.counts == nil {
		f.counts = map[string]int{}
	}
	f.calls = append(f.calls, s)
	f.counts[s]++
	return f.counts[s]
}

func (f *fakeFetcher) resolveFn(ctx context.Context, ref string, p ocispecs.Platform) (digest.Digest, error) {
	n := f.record("resolve " + ref)
	return f.resolve(ctx, ref, n)
}

type fakeGW struct{ *fakeFetcher }

func (g fakeGW) resolve(ctx context.Context, ref string, p ocispecs.Platform) (digest.Digest, []byte, error) {
	d, err := g.resolveFn(ctx, ref, p)
	if err != nil || g.config == nil {
		return d, nil, err
	}
	return d, g.config(ref), nil
}

func (g fakeGW) pull(ctx context.Context, ref string, p ocispecs.Platform) error {
	g.record("pull " + ref)
	if g.pullErr == nil {
		return nil
	}
	err := g.pullErr(ref)
	if errors.Is(err, errHang) {
		<-ctx.Done()
		return fmt.Errorf("rpc error: code = DeadlineExceeded desc = %w", ctx.Err())
	}
	return err
}

// errHang from pullErr makes the pull wait for its deadline.
var errHang = errors.New("hang")

var (
	dgA = digest.FromString("a")
	dgB = digest.FromString("b")
)

func plan(t *testing.T, df, mirrors string) []llbgen.PlannedImage {
	t.Helper()
	m, err := llbgen.ParseMirrors(mirrors)
	if err != nil {
		t.Fatal(err)
	}
	p, err := llbgen.Plan([]byte(df), llbgen.PlanOptions{
		ImageOptions:    llbgen.ImageOptions{BuildPlatform: &linuxAmd64},
		Mirrors:         m,
		TargetPlatforms: []ocispecs.Platform{linuxAmd64},
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// errorsByHost scripts a resolve error per registry host; "" is success.
func errorsByHost(errs map[string][]string) func(ctx context.Context, ref string, n int) (digest.Digest, error) {
	return func(ctx context.Context, ref string, n int) (digest.Digest, error) {
		host, _, _ := strings.Cut(ref, "/")
		seq := errs[host]
		e := ""
		if n-1 < len(seq) {
			e = seq[n-1]
		} else if len(seq) > 0 {
			e = seq[len(seq)-1]
		}
		switch e {
		case "":
			return dgA, nil
		case "hang":
			<-ctx.Done()
			return "", fmt.Errorf("rpc error: code = DeadlineExceeded desc = %w", ctx.Err())
		case "other":
			return dgB, nil
		}
		return "", errors.New(e)
	}
}

func TestResolveCandidates(t *testing.T) {
	const (
		notFound = "failed to resolve source metadata for m1.example/library/golang:1.26: m1.example/library/golang:1.26: not found"
		s503     = "unexpected status from HEAD request to https://m1.example/v2/library/golang/manifests/1.26: 503 Service Unavailable"
		s403     = "unexpected status from HEAD request to https://m1.example/v2/library/golang/manifests/1.26: 403 Forbidden"
		s429     = "pull access denied: 429 Too Many Requests"
		refused  = "dial tcp 127.0.0.1:1: connect: connection refused"
		reset    = "read tcp 127.0.0.1:5->127.0.0.1:6: read: connection reset by peer"
		eof      = `Head "http://127.0.0.1:5/v2/x/manifests/1": EOF`
	)
	for _, tc := range []struct {
		name    string
		errs    map[string][]string
		want    string // message, or error
		attempt map[string]int
	}{
		{"first mirror serves", nil,
			"golang:1.26 from m1.example (" + shortDigest(dgA) + ", 0.0 s)",
			map[string]int{"m1.example": 1, "m2.example": 0, "docker.io": 0}},
		{"not found moves on without retry", map[string][]string{"m1.example": {notFound}},
			"golang:1.26 from m2.example (" + shortDigest(dgA) + ", 0.0 s) after m1.example: not found",
			map[string]int{"m1.example": 1, "m2.example": 1}},
		{"503 retried once, then next", map[string][]string{"m1.example": {s503}, "m2.example": {s403}},
			"golang:1.26 from docker.io (" + shortDigest(dgA) + ", 0.0 s) after m1.example: 503 Service Unavailable (after a retry), m2.example: 403 Forbidden",
			map[string]int{"m1.example": 2, "m2.example": 1, "docker.io": 1}},
		{"transient 503 recovers on retry", map[string][]string{"m1.example": {s503, ""}},
			"golang:1.26 from m1.example (" + shortDigest(dgA) + ", 0.0 s)",
			map[string]int{"m1.example": 2, "m2.example": 0}},
		{"refused, reset, eof", map[string][]string{"m1.example": {refused}, "m2.example": {reset, eof}},
			"golang:1.26 from docker.io (" + shortDigest(dgA) + ", 0.0 s) after m1.example: connection refused, m2.example: connection closed (after a retry)",
			map[string]int{"m1.example": 1, "m2.example": 2}},
		{"hang times out, not retried", map[string][]string{"m1.example": {"hang"}, "m2.example": {s429}},
			"golang:1.26 from docker.io (" + shortDigest(dgA) + ", 0.0 s) after m1.example: no answer within 50ms, m2.example: 429 Too Many Requests",
			map[string]int{"m1.example": 1, "m2.example": 1}},
		{"all fail", map[string][]string{"m1.example": {notFound}, "m2.example": {"hang"}, "docker.io": {"weird: something odd happened here"}},
			"hoist: no registry served golang:1.26 (linux/amd64):\n  m1.example/library/golang:1.26: not found\n  m2.example/library/golang:1.26: no answer within 50ms\n  docker.io/library/golang:1.26: weird: something odd happened here",
			nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeFetcher{resolve: errorsByHost(tc.errs)}
			r := &imageResolver{f: fakeGW{f}, resolveTimeout: 50 * time.Millisecond, pullTimeout: time.Minute}
			res := r.resolveAll(context.Background(), plan(t, "FROM golang:1.26\n", "docker.io=m1.example,m2.example"))
			if len(res) != 1 {
				t.Fatalf("got %d results", len(res))
			}
			var got string
			if res[0].chosen != nil {
				res[0].took = 0 // durations are not asserted
				got = res[0].message(false)
			} else {
				got = res[0].err().Error()
			}
			if got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
			for host, n := range tc.attempt {
				ref := host + "/library/golang:1.26"
				if c := f.counts["resolve "+ref]; c != n {
					t.Errorf("%s resolved %d times, want %d (calls %v)", ref, c, n, f.calls)
				}
			}
			if res[0].chosen != nil {
				want := "pull " + res[0].chosen.Host + "/library/golang@" + dgA.String()
				if f.counts[want] != 1 {
					t.Errorf("want %q in %v", want, f.calls)
				}
			}
		})
	}
}

func TestResolvePinnedDigest(t *testing.T) {
	df := "FROM alpine@" + dgA.String() + "\n"
	f := &fakeFetcher{resolve: errorsByHost(map[string][]string{"m1.example": {"other"}})}
	r := &imageResolver{f: fakeGW{f}, resolveTimeout: time.Second, pullTimeout: time.Second}
	res := r.resolveAll(context.Background(), plan(t, df, "docker.io=m1.example"))[0]
	if res.chosen == nil || res.chosen.Host != "docker.io" || res.pinned.String() != "docker.io/library/alpine@"+dgA.String() {
		t.Fatalf("got %+v", res)
	}
	if len(res.failed) != 1 || !strings.Contains(res.failed[0].reason, "digest mismatch: serves "+dgB.String()) {
		t.Errorf("failed: %+v", res.failed)
	}
}

func TestResolvePullFailure(t *testing.T) {
	f := &fakeFetcher{resolve: errorsByHost(nil), pullErr: func(ref string) error {
		if strings.HasPrefix(ref, "m1.example/") {
			return errors.New("failed to copy: httpReadSeeker: failed open: unexpected status code http://m1.example/v2/library/node/blobs/sha256:x: 404 Not Found")
		}
		return nil
	}}
	r := &imageResolver{f: fakeGW{f}, resolveTimeout: time.Second, pullTimeout: time.Second}
	res := r.resolveAll(context.Background(), plan(t, "FROM node:20\n", "docker.io=m1.example"))[0]
	if res.chosen == nil || res.chosen.Host != "docker.io" {
		t.Fatalf("got %+v", res)
	}
	if len(res.failed) != 1 || res.failed[0].reason != "pull: 404 Not Found" {
		t.Errorf("failed: %+v", res.failed)
	}
}

// TestResolveParallel needs all images in flight at once: a sequential
// resolver never gets past the barrier, and the context ends the test.
func TestResolveParallel(t *testing.T) {
	const n = 10
	var df strings.Builder
	for i := range n {
		fmt.Fprintf(&df, "FROM img%d AS s%d\n", i, i)
	}
	df.WriteString("FROM scratch\n")
	for i := range n {
		fmt.Fprintf(&df, "COPY --from=s%d /a /a\n", i)
	}
	var wg sync.WaitGroup
	wg.Add(n)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f := &fakeFetcher{resolve: func(ctx context.Context, ref string, _ int) (digest.Digest, error) {
		wg.Done()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
			return dgA, nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}}
	r := &imageResolver{f: fakeGW{f}, resolveTimeout: time.Minute, pullTimeout: time.Minute}
	res := r.resolveAll(ctx, plan(t, df.String(), "docker.io=m1.example"))
	if len(res) != n {
		t.Fatalf("got %d results", len(res))
	}
	for i, r := range res {
		if r.chosen == nil || r.chosen.Host != "m1.example" {
			t.Errorf("image %d: %+v", i, r.failed)
		}
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err       error
		reason    string
		transient bool
	}{
		{&stageError{"resolve", time.Second, context.DeadlineExceeded}, "no answer within 1s", false},
		{&stageError{"pull", time.Minute, context.DeadlineExceeded}, "pull: no answer within 1m0s", false},
		{&stageError{"pull", time.Minute, errors.New("unexpected status: 502 Bad Gateway")}, "pull: 502 Bad Gateway", true},
		{errors.New("failed to authorize: 401 Unauthorized"), "401 Unauthorized", false},
		{errors.New("unexpected status: 500 Internal Server Error"), "500 Internal Server Error", true},
		{errors.New("x: unexpected EOF"), "connection closed", true},
	} {
		r, tr := classify(tc.err)
		if r != tc.reason || tr != tc.transient {
			t.Errorf("%v: got %q %v, want %q %v", tc.err, r, tr, tc.reason, tc.transient)
		}
	}
}

func TestUserContext(t *testing.T) {
	opts := map[string]string{"context:golang:1.26": "docker-image://x", "context:alpine::linux/arm64": "docker-image://y"}
	arm := ocispecs.Platform{OS: "linux", Architecture: "arm64"}
	for _, tc := range []struct {
		name string
		p    ocispecs.Platform
		want bool
	}{
		{"golang:1.26", linuxAmd64, true},
		{"alpine", arm, true},
		{"alpine", linuxAmd64, false},
		{"node", linuxAmd64, false},
	} {
		if got := userContext(opts, tc.name, tc.p); got != tc.want {
			t.Errorf("%s %v: got %v", tc.name, tc.p, got)
		}
	}
}

// A deadline the daemon reports before the local context expires is still
// the step's timeout, in each shape it reaches the frontend.
func TestResolveEarlyDeadline(t *testing.T) {
	for _, daemonErr := range []error{
		errors.New("rpc error: code = DeadlineExceeded desc = context deadline exceeded"),
		// What the gateway client returns: grpcerrors' "DeadlineExceeded: <desc>".
		grpcerrors.FromGRPC(status.Error(codes.DeadlineExceeded, "failed to do request: Head \"https://m1.example/v2/\": i/o timeout")),
		errors.New("failed to resolve source metadata for m1.example/library/node:20: DeadlineExceeded: no response"),
	} {
		f := &fakeFetcher{resolve: errorsByHost(nil), pullErr: func(ref string) error {
			if strings.HasPrefix(ref, "m1.example/") {
				return daemonErr
			}
			return nil
		}}
		r := &imageResolver{f: fakeGW{f}, resolveTimeout: time.Hour, pullTimeout: time.Hour}
		res := r.resolveAll(context.Background(), plan(t, "FROM node:20\n", "docker.io=m1.example"))[0]
		if res.chosen == nil || len(res.failed) != 1 || res.failed[0].reason != "pull: no answer within 1h0m0s" {
			t.Errorf("%v: got %+v", daemonErr, res.failed)
		}
	}
}

// Pulls of the same digest from different candidates must differ in the
// platform BuildKit keys them by, and still select the image's manifest.
func TestProbePlatform(t *testing.T) {
	withFeature := ocispecs.Platform{OS: "windows", Architecture: "amd64", OSFeatures: []string{"win32k"}}
	mirror := "mirror.internal:5000/library/golang@sha256:" + strings.Repeat("a", 64)
	origin := "docker.io/library/golang@sha256:" + strings.Repeat("a", 64)
	for _, p := range []ocispecs.Platform{linuxAmd64, {OS: "linux", Architecture: "arm", Variant: "v7"}, withFeature} {
		pm, po := probePlatform(p, mirror), probePlatform(p, origin)
		if platforms.FormatAll(pm) == platforms.FormatAll(po) {
			t.Errorf("%s: same probe platform %s for both candidates", platforms.FormatAll(p), platforms.FormatAll(pm))
		}
		if again := probePlatform(p, mirror); !slices.Equal(again.OSFeatures, pm.OSFeatures) {
			t.Errorf("probe platform not stable: %v, %v", again.OSFeatures, pm.OSFeatures)
		}
		if pm.OS != p.OS || pm.Architecture != p.Architecture || pm.Variant != p.Variant {
			t.Errorf("probe platform %+v changed %+v", pm, p)
		}
		// The image declares p; the pull asks for the probe platform.
		if !platforms.Only(pm).Match(p) {
			t.Errorf("probe platform %s does not match the image's %s", platforms.FormatAll(pm), platforms.FormatAll(p))
		}
	}
	if len(withFeature.OSFeatures) != 1 {
		t.Errorf("caller's features changed: %v", withFeature.OSFeatures)
	}
}

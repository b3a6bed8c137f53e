package llbgen

import (
	"reflect"
	"strings"
	"testing"

	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

var amd64 = ocispecs.Platform{OS: "linux", Architecture: "amd64"}

type found struct {
	Name, Ctx, Platform, Kind string
	Line                      int
}

func findAll(t *testing.T, df string, opt ImageOptions) []found {
	t.Helper()
	if opt.BuildPlatform == nil {
		opt.BuildPlatform = &amd64
	}
	uses, err := FindImages([]byte(df), opt)
	if err != nil {
		t.Fatalf("FindImages: %v", err)
	}
	var out []found
	for _, u := range uses {
		out = append(out, found{u.Name.String(), u.ContextName(), PlatformKey(u.Platform), u.Kind, u.Location[0].Start.Line})
	}
	return out
}

func TestFindImages(t *testing.T) {
	for _, tc := range []struct {
		name string
		df   string
		opt  ImageOptions
		want []found
	}{{
		name: "normalisation and ARG expansion",
		df: `ARG GO=1.26
ARG BASE=golang:${GO}
FROM $BASE AS build
FROM alpine
FROM 127.0.0.1:5000/team/app:v1
FROM ghcr.io/o/r@sha256:0123456789012345678901234567890123456789012345678901234567890123
FROM scratch
COPY --from=build /a /a
COPY --from=1 /a /a
COPY --from=2 /a /a
COPY --from=3 /a /a
`,
		opt: ImageOptions{BuildArgs: map[string]string{"GO": "1.25"}},
		want: []found{
			{"docker.io/library/golang:1.25", "golang:1.25", "linux/amd64", UseFrom, 3},
			{"docker.io/library/alpine:latest", "alpine", "linux/amd64", UseFrom, 4},
			{"127.0.0.1:5000/team/app:v1", "127.0.0.1:5000/team/app:v1", "linux/amd64", UseFrom, 5},
			{"ghcr.io/o/r@sha256:0123456789012345678901234567890123456789012345678901234567890123", "ghcr.io/o/r@sha256:0123456789012345678901234567890123456789012345678901234567890123", "linux/amd64", UseFrom, 6},
		},
	}, {
		name: "stage names, scratch, --from sources, reachability",
		df: `FROM golang:1.26 AS build
RUN --mount=type=cache,target=/c --mount=from=tools:1,target=/t true
FROM node:20 AS unused
FROM scratch AS s
FROM build AS final
COPY --from=build /a /a
COPY --from=0 /a /a
COPY --from=busybox:1 /bin/sh /sh
COPY --from=S /x /x
COPY --from=busybox:1 /bin/ls /ls
`,
		want: []found{
			{"docker.io/library/golang:1.26", "golang:1.26", "linux/amd64", UseFrom, 1},
			{"docker.io/library/tools:1", "tools:1", "linux/amd64", UseMountFrom, 2},
			{"docker.io/library/busybox:1", "busybox:1", "linux/amd64", UseCopyFrom, 8},
		},
	}, {
		name: "target selects stages",
		df: `FROM node:20 AS web
FROM golang:1.26 AS api
`,
		opt:  ImageOptions{Target: "WEB"},
		want: []found{{"docker.io/library/node:20", "node:20", "linux/amd64", UseFrom, 1}},
	}, {
		name: "platforms: --platform, TARGETARCH, target platform for --from",
		df: `FROM --platform=$BUILDPLATFORM golang:1.26 AS build
FROM alpine:3-$TARGETARCH
COPY --from=busybox /bin/sh /sh
FROM --platform=linux/arm/v7 alpine:3-$TARGETARCH AS arm
`,
		opt: ImageOptions{TargetPlatform: &ocispecs.Platform{OS: "linux", Architecture: "arm64"}, Target: "arm"},
		want: []found{
			{"docker.io/library/alpine:3-arm64", "alpine:3-arm64", "linux/arm/v7", UseFrom, 4},
		},
	}, {
		name: "platforms in a full build",
		df: `FROM --platform=$BUILDPLATFORM golang:1.26 AS build
FROM alpine:3-$TARGETARCH
COPY --from=build /a /a
COPY --from=busybox /bin/sh /sh
`,
		opt: ImageOptions{TargetPlatform: &ocispecs.Platform{OS: "linux", Architecture: "arm64"}},
		want: []found{
			{"docker.io/library/golang:1.26", "golang:1.26", "linux/amd64", UseFrom, 1},
			{"docker.io/library/alpine:3-arm64", "alpine:3-arm64", "linux/arm64", UseFrom, 2},
			{"docker.io/library/busybox:latest", "busybox", "linux/arm64", UseCopyFrom, 4},
		},
	}, {
		name: "FROM names only earlier stages; later stage name is an image",
		df: `FROM later AS first
FROM alpine AS later
COPY --from=first /a /a
`,
		want: []found{
			{"docker.io/library/later:latest", "later", "linux/amd64", UseFrom, 1},
			{"docker.io/library/alpine:latest", "alpine", "linux/amd64", UseFrom, 2},
		},
	}, {
		name: "user contexts win",
		df: `FROM golang:1.26 AS build
FROM alpine
COPY --from=build /a /a
`,
		opt: ImageOptions{HasContext: func(name string, p ocispecs.Platform) bool {
			return name == "build" || name == "alpine"
		}},
		want: nil,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got := findAll(t, tc.df, tc.opt)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

func TestFindImagesErrors(t *testing.T) {
	for _, tc := range []struct{ df, target, want string }{
		{"FROM ${NOPE}\n", "", "should not be blank"},
		{"FROM Alpine\n", "", `failed to parse image name "Alpine"`},
		{"FROM --platform=linux/bogus/x/y alpine\n", "", "failed to parse platform"},
		{"FROM alpine\n", "nope", `target stage "nope" could not be found`},
		{"ARG X\n", "", "no stages"},
	} {
		_, err := FindImages([]byte(tc.df), ImageOptions{BuildPlatform: &amd64, Target: tc.target})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want error containing %q", tc.df, err, tc.want)
		}
	}
}

func TestParseMirrors(t *testing.T) {
	m, err := ParseMirrors(" docker.io = mirror.gcr.io, registry.internal:5000/hub ;ghcr.io=ghcr-mirror.internal; ")
	if err != nil {
		t.Fatal(err)
	}
	want := Mirrors{
		"docker.io": {"mirror.gcr.io", "registry.internal:5000/hub"},
		"ghcr.io":   {"ghcr-mirror.internal"},
	}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("got %v want %v", m, want)
	}
	if got := m.String(); got != "docker.io=mirror.gcr.io,registry.internal:5000/hub;ghcr.io=ghcr-mirror.internal" {
		t.Errorf("String: %s", got)
	}
	m, err = ParseMirrors("index.docker.io=127.0.0.1:5000,127.0.0.1:5000,docker.io")
	if err == nil {
		t.Fatalf("docker.io as a mirror: want error, got %v", m)
	}
	m, err = ParseMirrors("index.docker.io=127.0.0.1:5000,127.0.0.1:5000")
	if err != nil || !reflect.DeepEqual(m, Mirrors{"docker.io": {"127.0.0.1:5000"}}) {
		t.Errorf("alias and duplicates: got %v, %v", m, err)
	}

	for _, tc := range []struct{ in, want string }{
		{"docker.io", "want registry=mirror"},
		{"=mirror.gcr.io", "want registry=mirror"},
		{"docker.io=", "no mirrors given"},
		{"https://docker.io=m.example", "without scheme"},
		{"docker.io=https://m.example", "without scheme"},
		{"docker.io/library=m.example", "host[:port]"},
		{"docker.io=m.example:port", "not a valid"},
		{"docker.io=UPPER.example/Bad", "not a valid"},
		{"docker.io=a.example;docker.io=b.example", "listed twice"},
	} {
		_, err := ParseMirrors(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want error containing %q", tc.in, err, tc.want)
		}
	}
}

func TestCandidates(t *testing.T) {
	m, err := ParseMirrors("docker.io=mirror.internal:5000,cache.example/hub;127.0.0.1:5000=127.0.0.1:6000")
	if err != nil {
		t.Fatal(err)
	}
	const dg = "sha256:0123456789012345678901234567890123456789012345678901234567890123"
	for _, tc := range []struct {
		ref  string
		want []string
	}{
		{"golang:1.26", []string{"mirror.internal:5000/library/golang:1.26", "cache.example/hub/library/golang:1.26", "docker.io/library/golang:1.26"}},
		{"user/app@" + dg, []string{"mirror.internal:5000/user/app@" + dg, "cache.example/hub/user/app@" + dg, "docker.io/user/app@" + dg}},
		{"alpine:3@" + dg, []string{"mirror.internal:5000/library/alpine:3@" + dg, "cache.example/hub/library/alpine:3@" + dg, "docker.io/library/alpine:3@" + dg}},
		{"127.0.0.1:5000/x/y:1", []string{"127.0.0.1:6000/x/y:1", "127.0.0.1:5000/x/y:1"}},
		{"quay.io/x/y:1", []string{"quay.io/x/y:1"}},
	} {
		uses, err := FindImages([]byte("FROM "+tc.ref+"\n"), ImageOptions{BuildPlatform: &amd64})
		if err != nil || len(uses) != 1 {
			t.Fatalf("%s: %v %v", tc.ref, uses, err)
		}
		cands, err := m.Candidates(uses[0].Name)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i, c := range cands {
			got = append(got, c.Ref.String())
			if c.Mirror != (i < len(cands)-1) {
				t.Errorf("%s: candidate %d Mirror=%v", tc.ref, i, c.Mirror)
			}
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %v want %v", tc.ref, got, tc.want)
		}
	}
}

func TestPlan(t *testing.T) {
	m, _ := ParseMirrors("docker.io=mirror.internal:5000")
	df := "FROM --platform=$BUILDPLATFORM golang:1.26 AS b\nFROM alpine\nCOPY --from=b /a /a\n"
	plan, err := Plan([]byte(df), PlanOptions{
		ImageOptions:    ImageOptions{BuildPlatform: &amd64},
		Mirrors:         m,
		TargetPlatforms: []ocispecs.Platform{amd64, {OS: "linux", Architecture: "arm64"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := FormatPlan(plan)
	want := `line 1 FROM golang:1.26 (linux/amd64): mirror.internal:5000/library/golang:1.26, docker.io/library/golang:1.26
line 2 FROM alpine:latest (linux/amd64): mirror.internal:5000/library/alpine:latest, docker.io/library/alpine:latest
line 2 FROM alpine:latest (linux/arm64): mirror.internal:5000/library/alpine:latest, docker.io/library/alpine:latest
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestParseConfigResolve(t *testing.T) {
	c, err := ParseConfig(map[string]string{ArgMirrors: "docker.io=m.example", ArgResolveTimeout: "2s", ArgPullTimeout: "1m", ArgResolve: "off"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Resolve || c.ResolveTimeout.String() != "2s" || c.PullTimeout.String() != "1m0s" || c.Mirrors.String() != "docker.io=m.example" {
		t.Errorf("got %+v", c)
	}
	d := DefaultConfig()
	if !d.Resolve || d.ResolveTimeout != DefaultResolveTimeout || d.Mirrors != nil {
		t.Errorf("defaults: %+v", d)
	}
	for _, args := range []map[string]string{
		{ArgResolveTimeout: "5"},
		{ArgResolveTimeout: "-1s"},
		{ArgPullTimeout: "soon"},
		{ArgMirrors: "docker.io"},
		{ArgResolve: "maybe"},
	} {
		if _, err := ParseConfig(args); err == nil {
			t.Errorf("%v: want error", args)
		}
	}
}

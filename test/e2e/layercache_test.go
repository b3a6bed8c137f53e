package e2e

import (
	"path/filepath"
	"strings"
	"testing"
)

// goAppSplit is go-app's Dockerfile with the download split out by hand,
// as stock users write it, with go -x as goFlagsX makes it.
const goAppSplit = `FROM golang:1.26 AS build
ENV GOFLAGS=-x
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -o /out/app .

FROM busybox
COPY --from=build /out/app /app
ENTRYPOINT ["/app"]
`

// TestLayerCacheImport is CI with a layer cache and no hoist cache image:
// a cold build exports its layers to the registry (--cache-to
// type=registry,mode=max), the builder is wiped as a fresh runner is, and
// a rebuild after a one-line source edit imports them (--cache-from). The
// download's layer then comes from that cache, without what a cache mount
// held when it was made. hoist sees the import and keeps the module cache
// in the layers: the rebuild fetches no module, for a download the user
// split out (as stock's rebuild fetches none) and for the naive Dockerfile
// (whose download hoist hoists into the layer).
func TestLayerCacheImport(t *testing.T) {
	e := needEnv(t)
	for _, tc := range []struct{ name, df string }{
		{"naive", ""},
		{"split", goAppSplit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var dir string
			if tc.df == "" {
				dir = goFlagsX(t, "go-app")
			} else {
				dir = goAppDir(t, tc.df)
			}
			cacheRef := e.Registry + "/go-app-layers-" + tc.name + ":cache"
			args := []string{"--build-arg", "BUILDKIT_SYNTAX=" + e.HoistImage,
				"--cache-from", "type=registry,ref=" + cacheRef, "--output", "type=cacheonly"}

			wipeBuilder(t, e, "golang:1.26", "busybox")
			cold := bx(t, e, dir, append(args, "--cache-to", "type=registry,ref="+cacheRef+",mode=max")...)
			if !strings.Contains(cold, "imports a layer cache") {
				t.Errorf("hoist did not report keeping the module cache in the layers:\n%s", tail(cold))
			}
			if len(fetchRe.FindAllString(cold, -1)) == 0 {
				t.Fatalf("the cold build fetched no module; the log does not show what the test looks for:\n%s", tail(cold))
			}

			wipeBuilder(t, e, "golang:1.26", "busybox")
			appendEdit(t, filepath.Join(dir, "main.go"))
			warm := bx(t, e, dir, args...)
			// A step whose layer comes from an imported cache shows its
			// layers pulled, not CACHED: what matters is that go built and
			// fetched nothing.
			if !strings.Contains(warm, "importing cache manifest from "+cacheRef) || len(compiled(warm)) == 0 {
				t.Fatalf("the rebuild imported no layer cache or compiled nothing:\n%s", tail(warm))
			}
			if f := fetchRe.FindAllString(warm, -1); len(f) > 0 {
				t.Errorf("the rebuild fetched modules again (%d requests, first %s); the download's layer from the cache should hold them", len(f), f[0])
			}
		})
	}
}

# The hoist frontend image. Built by BuildKit's built-in Dockerfile frontend
# (no syntax directive: nothing has to be pulled to build it).
ARG GO_IMAGE=golang:1.26

FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS build
WORKDIR /src
ARG TARGETOS TARGETARCH
ARG VERSION=dev
ARG REVISION=unknown
# GOPROXY may point at a team's module proxy; unset means Go's default.
ARG GOPROXY
RUN --mount=type=bind,target=. \
    --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X github.com/hoistbuild/hoist/internal/version.Version=${VERSION} -X github.com/hoistbuild/hoist/internal/version.Revision=${REVISION}" \
      -o /out/hoist-frontend ./cmd/hoist-frontend

# go vet and the unit tests (docker buildx bake test); not part of the image.
FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS test
WORKDIR /src
ARG GOPROXY
RUN --mount=type=bind,target=. \
    --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go vet ./... && CGO_ENABLED=0 go test -buildvcs=false ./...

FROM scratch
ARG VERSION=dev
ARG REVISION=unknown
COPY --from=build /out/hoist-frontend /bin/hoist-frontend
LABEL moby.buildkit.frontend.network.none="true"
LABEL moby.buildkit.frontend.caps="moby.buildkit.frontend.inputs,moby.buildkit.frontend.subrequests,moby.buildkit.frontend.contexts,moby.buildkit.frontend.gitquerystring,moby.buildkit.frontend.contexts.zstd"
LABEL org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
ENTRYPOINT ["/bin/hoist-frontend"]

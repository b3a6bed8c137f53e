// CI build whose Go/Node caches survive ephemeral runners (README.md).
// Run from the repository root:
//
//   docker buildx bake -f examples/ci/docker-bake.hcl test          # unit tests in the build
//   docker buildx bake -f examples/ci/docker-bake.hcl app           # the image
//   docker buildx bake -f examples/ci/docker-bake.hcl cache         # hoist's caches, default branch only
//
// Every target passes the same HOIST_CACHE_FROM: a cache mount seeded from
// an image is a different cache on the builder than an unseeded one, so the
// cache export must name the same image as the builds it exports from.

// Where the app and its cache image live.
variable "REGISTRY" {
  default = "registry.example.com/team"
}

// The hoist frontend, pinned by digest in real use.
variable "HOIST" {
  default = "registry.example.com/tools/hoist:1"
}

variable "TAG" {
  default = "dev"
}

// One cache image per default branch; pull requests read it, only the
// default branch writes it.
variable "CACHE_IMAGE" {
  default = "${REGISTRY}/go-test-stage-cache:main"
}

target "_hoist" {
  context = "examples/go-test-stage"
  args = {
    BUILDKIT_SYNTAX  = HOIST
    HOIST_CACHE_FROM = CACHE_IMAGE
  }
}

// go test ./... inside the build, sharing hoist's Go caches with the image
// build that follows: the image build then compiles only what the tests did
// not.
target "test" {
  inherits = ["_hoist"]
  target   = "test"
  output   = ["type=cacheonly"]
}

target "app" {
  inherits = ["_hoist"]
  tags     = ["${REGISTRY}/go-test-stage:${TAG}"]
  output   = ["type=image,push=true"]
}

// The content of every cache mount hoist adds to this Dockerfile, one
// directory per cache id, for the next run's HOIST_CACHE_FROM.
target "cache" {
  inherits = ["_hoist"]
  target   = "hoist-cache"
  output   = ["type=image,name=${CACHE_IMAGE},push=true"]
}

group "default" {
  targets = ["test", "app"]
}

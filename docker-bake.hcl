// Builds the hoist frontend image and the examples.
//
//   docker buildx bake frontend --push                      # hoist:dev
//   HOIST_IMAGES=registry-a.example.com/tools/hoist,registry-b.example.com/hoist \
//     HOIST_TAG=1 docker buildx bake frontend --push          # one image, several registries

// Comma-separated repositories the frontend image is tagged in.
variable "HOIST_IMAGES" {
  default = "hoist"
}

variable "HOIST_TAG" {
  default = "dev"
}

// Recorded in the binary (hoist-frontend -version) and in the image labels.
variable "VERSION" {
  default = "dev"
}

variable "REVISION" {
  default = "unknown"
}

// Go builder image; point it at a mirror if docker.io is out of reach.
variable "GO_IMAGE" {
  default = "golang:1.26"
}

group "default" {
  targets = ["frontend"]
}

target "frontend" {
  context    = "."
  dockerfile = "Dockerfile"
  args = {
    GO_IMAGE = GO_IMAGE
    VERSION  = VERSION
    REVISION = REVISION
  }
  tags = [for repo in split(",", HOIST_IMAGES) : "${trimspace(repo)}:${HOIST_TAG}"]
}

// go vet and the unit tests in the Go image. The end-to-end tests need a
// root buildkitd with overlayfs and skip themselves in here; run them with
// `make test` on a machine.
target "test" {
  inherits = ["frontend"]
  target   = "test"
  tags     = []
  output   = ["type=cacheonly"]
}

// Every example's naive Dockerfile. Build them through hoist with
//   docker buildx bake examples --set '*.args.BUILDKIT_SYNTAX=REGISTRY/hoist:TAG'
group "examples" {
  targets = ["go-app", "go-workspace", "go-vendored", "go-nonroot", "go-cross", "go-test-stage", "go-make", "node-npm", "node-pnpm-monorepo", "node-yarn-berry", "fullstack"]
}


target "go-app" {
  context = "examples/go-app"
}

target "go-workspace" {
  context = "examples/go-workspace"
}

target "go-vendored" {
  context = "examples/go-vendored"
}

target "go-nonroot" {
  context = "examples/go-nonroot"
}

target "go-cross" {
  context = "examples/go-cross"
}

target "go-test-stage" {
  context = "examples/go-test-stage"
}

target "go-make" {
  context = "examples/go-make"
}

target "node-npm" {
  context = "examples/node-npm"
}

target "node-pnpm-monorepo" {
  context = "examples/node-pnpm-monorepo"
}

target "node-yarn-berry" {
  context = "examples/node-yarn-berry"
}

target "fullstack" {
  context = "examples/fullstack"
}

// Package version holds the build's version and commit, set by -ldflags.
package version

var (
	// Package is the import path of the frontend binary.
	Package = "github.com/hoistbuild/hoist"
	// Version is the release, or "dev" for a build from a working tree.
	Version = "dev"
	// Revision is the git commit the binary was built from.
	Revision = "unknown"
)

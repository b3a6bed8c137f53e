package node

import (
	"slices"
	"strings"

	"github.com/hoistbuild/hoist/llbgen"
)

// packageManager is one Node package manager as the Node ecosystem tells
// them apart: everything that differs between them is a value here, so
// the rest of the ecosystem asks the manager instead of switching on it.
type packageManager struct {
	name string // as notes name it: "npm", "yarn classic", ...
	// The download cache's mount: cache id, sharing, and where the
	// manager keeps it for a call (or why that is unknown).
	cacheID  string
	sharing  string
	cacheDir func(c *nodeCall, p *nodeProject, acc llbgen.Account) (dir, why string)
	// needsCache reports whether a call reads or fills the cache.
	needsCache func(u NodeUse) bool
	// lockfiles are the lockfiles a frozen install needs one of.
	lockfiles []string
	// lockfileWritten is the lockfile a non-frozen install writes.
	lockfileWritten func(p *nodeProject) string
	// frozen reports an install that fails rather than change the
	// lockfile, beyond the flags ClassifyNode recognises (NodeUse.Frozen).
	frozen func(c *nodeCall) bool
	// installSubs are the subcommands of a bare install ("" is the
	// manager run alone: yarn); valueFlags the flags that take a value.
	installSubs []string
	valueFlags  map[string]bool
}

// The managers. yarn 1 does not lock its cache against concurrent
// writers: its mount is locked, the others' shared.
var (
	mgrNpm = &packageManager{
		name: "npm", cacheID: "hoist-npm", sharing: "shared", cacheDir: npmCache,
		// Every npm command writes its logs into the cache directory.
		needsCache: func(u NodeUse) bool { return !(u.Sub == "cache" && llbgen.HasArg(u.Args, "clean")) },
		lockfiles:  []string{"package-lock.json", "npm-shrinkwrap.json"},
		lockfileWritten: func(p *nodeProject) string {
			if p.has["npm-shrinkwrap.json"] {
				return "npm-shrinkwrap.json"
			}
			return "package-lock.json"
		},
		frozen:      func(c *nodeCall) bool { return c.use.Sub == "ci" },
		installSubs: []string{"install"},
		valueFlags:  npmValueFlags,
	}
	mgrYarn = &packageManager{
		name: "yarn classic", cacheID: "hoist-yarn", sharing: "locked", cacheDir: yarnClassicCache,
		needsCache:      yarnNeedsCache,
		lockfiles:       []string{"yarn.lock"},
		lockfileWritten: func(*nodeProject) string { return "yarn.lock" },
		frozen:          func(*nodeCall) bool { return false },
		installSubs:     []string{"", "install"},
		valueFlags:      yarnValueFlags,
	}
	mgrBerry = &packageManager{
		name: "yarn berry", cacheID: "hoist-yarn-berry", sharing: "shared", cacheDir: berryCache,
		needsCache:      yarnNeedsCache,
		lockfiles:       []string{"yarn.lock"},
		lockfileWritten: func(*nodeProject) string { return "yarn.lock" },
		frozen:          berryFrozen,
		installSubs:     []string{"", "install"},
		valueFlags:      yarnValueFlags,
	}
	mgrPnpm = &packageManager{
		name: "pnpm", cacheID: "hoist-pnpm-store", sharing: "shared", cacheDir: pnpmStore,
		needsCache: func(u NodeUse) bool {
			return u.Install || u.Fetch || u.Global || u.Sub == "dlx"
		},
		lockfiles:       []string{"pnpm-lock.yaml"},
		lockfileWritten: func(*nodeProject) string { return "pnpm-lock.yaml" },
		frozen:          pnpmFrozen,
		installSubs:     []string{"install"},
		valueFlags:      pnpmValueFlags,
	}
)

// managerOf tells the manager of a call from its tool (u.Manager), the
// yarn release it runs, the project's files and the call's flags: nil and
// why when yarn classic and berry cannot be told apart; ok is false for a
// tool that is no manager (corepack).
func managerOf(u NodeUse, args []string, proj *nodeProject) (m *packageManager, why string, ok bool) {
	switch u.Manager {
	case "npm", "npx":
		return mgrNpm, "", true
	case "pnpm":
		return mgrPnpm, "", true
	case "yarn":
		switch major := releaseMajor(u.Release); {
		case major == 1:
			return mgrYarn, "", true
		case major >= 2:
			return mgrBerry, "", true
		case proj != nil && proj.yarnMajor() == 1:
			return mgrYarn, "", true
		case proj != nil && proj.yarnMajor() >= 2:
			return mgrBerry, "", true
		case llbgen.HasArg(args, "--immutable"):
			return mgrBerry, "", true
		case llbgen.HasArg(args, "--frozen-lockfile"):
			return mgrYarn, "", true
		}
		return nil, "cannot tell yarn classic from yarn berry: no yarn.lock, .yarnrc.yml or packageManager in the build context", true
	}
	return nil, "", false
}

// packageManagers are all of them, for the cache kinds the ecosystem
// declares.
var packageManagers = []*packageManager{mgrNpm, mgrYarn, mgrBerry, mgrPnpm}

func yarnNeedsCache(u NodeUse) bool {
	return (u.Install || u.Global || u.Sub == "dlx") && u.Sub != "cache"
}

// pnpmFrozen: pnpm's frozen-lockfile setting, else ci-info's CI test.
func pnpmFrozen(c *nodeCall) bool {
	if llbgen.HasArg(c.use.Args, "--no-frozen-lockfile") || llbgen.HasArg(c.use.Args, "--frozen-lockfile=false") {
		return false
	}
	if v, ok := envConfig(c.env, []string{"npm_config_", "pnpm_config_"}, "frozen-lockfile"); ok {
		return v == "true"
	}
	if c.proj != nil {
		if v, ok := c.proj.npmrc["frozen-lockfile"]; ok {
			return v == "true"
		}
	}
	return onCI(c.env)
}

// berryFrozen: yarn berry's enableImmutableInstalls, else ci-info's CI
// test.
func berryFrozen(c *nodeCall) bool {
	if llbgen.HasArg(c.use.Args, "--no-immutable") {
		return false
	}
	if v, ok := c.env["YARN_ENABLE_IMMUTABLE_INSTALLS"]; ok {
		return v == "true" || v == "1"
	}
	if c.proj != nil {
		if v, ok := c.proj.berry["enableImmutableInstalls"]; ok {
			return strings.ToLower(toString(v)) == "true"
		}
	}
	return onCI(c.env)
}

// isInstallSub reports whether sub is one of the manager's bare install
// subcommands.
func (m *packageManager) isInstallSub(sub string) bool {
	return slices.Contains(m.installSubs, sub)
}

// mgrName is the manager's name, or tool when the manager is unknown.
func mgrName(m *packageManager, tool string) string {
	if m != nil {
		return m.name
	}
	return tool
}

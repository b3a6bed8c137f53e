package llbgen

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Build args hoist reads. They are consumed by hoist and never passed on to
// dockerfile2llb, so they cause no "unconsumed build arg" warnings.
const (
	ArgHoist = "HOIST"       // off disables every rewrite
	ArgGo    = "HOIST_GO"    // off disables Go cache mounts and hoisting
	ArgNode  = "HOIST_NODE"  // off disables Node cache mounts and hoisting
	ArgSteps = "HOIST_HOIST" // off disables inserted download steps (mounts only)

	// Image resolution through mirrors (images.go, frontend/resolve.go).
	ArgMirrors        = "HOIST_MIRRORS"         // registry=mirror,...;registry=...
	ArgResolve        = "HOIST_RESOLVE"         // off: leave images to BuildKit
	ArgResolveTimeout = "HOIST_RESOLVE_TIMEOUT" // per candidate attempt to resolve
	ArgPullTimeout    = "HOIST_PULL_TIMEOUT"    // per candidate attempt to pull layers

	// CI caches (cachefrom.go).
	ArgCacheFrom   = "HOIST_CACHE_FROM"   // image to seed empty cache mounts from
	ArgCacheEpoch  = "HOIST_CACHE_EPOCH"  // set by the frontend, never by users
	ArgCacheVerify = "HOIST_CACHE_VERIFY" // off: no go mod verify of a seeded module cache
)

var knownArgs = map[string]bool{ArgHoist: true, ArgGo: true, ArgNode: true, ArgSteps: true,
	ArgMirrors: true, ArgResolve: true, ArgResolveTimeout: true, ArgPullTimeout: true,
	ArgCacheFrom: true, ArgCacheEpoch: true, ArgCacheVerify: true}

// IsHoistArg reports whether a build arg is hoist's own. Other HOIST_* names
// are left to the Dockerfile, as the stock frontend would.
func IsHoistArg(name string) bool {
	return knownArgs[name]
}

// Config switches hoist's features.
type Config struct {
	Enabled bool // any rewrite at all
	Go      bool // Go cache mounts
	Node    bool // Node package manager cache mounts
	Steps   bool // inserted dependency download steps

	// Mirrors, when set, makes hoist resolve and pin every image itself.
	Mirrors        Mirrors
	Resolve        bool          // HOIST_RESOLVE; off ignores Mirrors
	ResolveTimeout time.Duration // per candidate resolve attempt
	PullTimeout    time.Duration // per candidate pull attempt

	// CacheFrom is HOIST_CACHE_FROM as given. Rewrite does not use it: the
	// frontend checks the image and passes it as Options.CacheFrom.
	CacheFrom string
	// CacheVerify checks a module cache seeded from CacheFrom with go mod
	// verify in the hoisted download (cacheverify.go).
	CacheVerify bool
}

// rewrites reports whether any ecosystem is on: with none, Rewrite changes
// nothing.
func (c Config) rewrites() bool {
	return c.Enabled && slices.ContainsFunc(ecosystems, func(e Ecosystem) bool { return e.Enabled(c) })
}

// Default timeouts of image resolution. A pull moves whole layers, so it
// gets far longer than a manifest lookup.
const (
	DefaultResolveTimeout = 5 * time.Second
	DefaultPullTimeout    = 10 * time.Minute
)

// DefaultConfig has every feature on.
func DefaultConfig() Config {
	return Config{Enabled: true, Go: true, Node: true, Steps: true, CacheVerify: true,
		Resolve: true, ResolveTimeout: DefaultResolveTimeout, PullTimeout: DefaultPullTimeout}
}

// ParseConfig reads hoist's switches from build args.
func ParseConfig(args map[string]string) (Config, error) {
	c := DefaultConfig()
	keys := make([]string, 0, len(args))
	for k := range args {
		if IsHoistArg(k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch k {
		case ArgMirrors:
			m, err := ParseMirrors(args[k])
			if err != nil {
				return c, fmt.Errorf("build arg %s: %w", k, err)
			}
			c.Mirrors = m
			continue
		case ArgCacheFrom:
			c.CacheFrom = strings.TrimSpace(args[k])
			continue
		case ArgCacheEpoch:
			continue // the frontend's own, see cachefrom.go
		case ArgResolveTimeout, ArgPullTimeout:
			d, err := time.ParseDuration(strings.TrimSpace(args[k]))
			if err != nil || d <= 0 {
				return c, fmt.Errorf("build arg %s: invalid duration %q: want e.g. 5s or 1m", k, args[k])
			}
			if k == ArgResolveTimeout {
				c.ResolveTimeout = d
			} else {
				c.PullTimeout = d
			}
			continue
		}
		on, err := parseSwitch(args[k])
		if err != nil {
			return c, fmt.Errorf("build arg %s: %w", k, err)
		}
		switch k {
		case ArgHoist:
			c.Enabled = on
		case ArgGo:
			c.Go = on
		case ArgNode:
			c.Node = on
		case ArgSteps:
			c.Steps = on
		case ArgResolve:
			c.Resolve = on
		case ArgCacheVerify:
			c.CacheVerify = on
		}
	}
	return c, nil
}

func parseSwitch(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "on", "true", "1", "yes":
		return true, nil
	case "off", "false", "0", "no":
		return false, nil
	}
	return false, fmt.Errorf("invalid value %q: want on or off", v)
}

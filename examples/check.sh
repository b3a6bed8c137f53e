#!/usr/bin/env bash
# Builds, vets and tests every example's sources on the host (no Docker).
# Usage: examples/check.sh [NAME...]   (default: all examples)
# Needs go and node/npm, plus network access to the Go module proxy and the
# npm registry. Node examples are built in temporary copies, so the tree
# stays clean; pnpm and yarn are installed at the versions pinned in each
# example's packageManager field into a temporary npm prefix.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT

pass=0 fail=0
step() { # step NAME CMD...: runs CMD, counting and reporting the result
	local name=$1
	shift
	if out=$("$@" 2>&1); then
		pass=$((pass + 1))
		echo "ok   $name"
	else
		fail=$((fail + 1))
		echo "FAIL $name"
		printf '%s\n' "$out" | tail -20 | sed 's/^/     /'
	fi
}

go_checks() { # go_checks NAME DIR PATTERN...
	local name=$1 dir=$2
	shift 2
	step "$name: go vet" bash -c 'cd "$0" && go vet "$@"' "$dir" "$@"
	step "$name: go build" bash -c 'cd "$0" && CGO_ENABLED=0 go build -o /dev/null "$@"' "$dir" "$@"
	step "$name: go test" bash -c 'cd "$0" && CGO_ENABLED=0 go test -count=1 "$@"' "$dir" "$@"
}

# tool_for DIR: puts the package manager pinned in DIR/package.json on PATH.
tool_for() {
	local pm
	pm=$(node -p 'require(process.argv[1]).packageManager || ""' "$1/package.json")
	case $pm in
	pnpm@*) npm install --prefix "$tmp/tools/pnpm" --no-audit --no-fund "pnpm@${pm#pnpm@}" >/dev/null && PATH=$tmp/tools/pnpm/node_modules/.bin:$PATH ;;
	yarn@*) npm install --prefix "$tmp/tools/yarn" --no-audit --no-fund "@yarnpkg/cli-dist@${pm#yarn@}" >/dev/null && PATH=$tmp/tools/yarn/node_modules/.bin:$PATH ;;
	esac
}

node_build() { # node_build NAME SUBDIR OUTPUT: clean install + build in a copy
	local name=$1 sub=$2 want=$3 work=$tmp/$1
	rm -rf "$work" && cp -r "$here/$name" "$work"
	(
		cd "$work/$sub" || exit 1
		tool_for "$work/$sub" || exit 1
		export npm_config_store_dir=$tmp/pnpm-store YARN_GLOBAL_FOLDER=$tmp/yarn-global
		if [ -f pnpm-lock.yaml ]; then
			pnpm install --frozen-lockfile && pnpm run build
		elif [ -f yarn.lock ]; then
			# A committed release (yarnPath) runs without a global yarn.
			yarn=yarn
			for rel in .yarn/releases/yarn-*.cjs; do [ -f "$rel" ] && yarn="node $rel"; done
			$yarn install --immutable && $yarn build
		else
			npm ci --no-audit --no-fund && npm run build
		fi && test -s "$want"
	)
}

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	# Every directory with a Dockerfile is an example app (ci/ holds only CI
	# configuration for them).
	for d in "$here"/*/; do [ -f "$d/Dockerfile" ] && names+=("$(basename "$d")"); done
fi

for name in "${names[@]}"; do
	dir=$here/$name
	case $name in
	go-workspace) go_checks "$name" "$dir" ./api/... ./cmd/server/... ;;
	fullstack)
		go_checks "$name/server" "$dir/server" ./...
		step "$name/web: install + build" node_build "$name" web dist/app.js
		;;
	node-npm)
		step "$name: install + build" node_build "$name" . dist/index.html
		step "$name: lint + test" bash -c 'cd "$0" && npm run lint && npm test' "$tmp/$name"
		;;
	node-pnpm-monorepo) step "$name: install + build" node_build "$name" . packages/web/dist/app.js ;;
	node-yarn-berry | node-yarn-release | node-npm-install) step "$name: install + build" node_build "$name" . dist/index.html ;;
	go-make)
		go_checks "$name" "$dir" ./...
		step "$name: make build" bash -c 'cd "$0" && make build BIN="$1/go-make" && "$1/go-make" -version | grep -qx "go-make $(cat VERSION)"' "$dir" "$tmp"
		;;
	go-*) go_checks "$name" "$dir" ./... ;;
	*)
		fail=$((fail + 1))
		echo "FAIL $name: unknown example"
		;;
	esac
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

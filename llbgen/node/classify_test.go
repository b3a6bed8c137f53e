package node

import (
	"fmt"
	"testing"

	"github.com/hoistbuild/hoist/internal/dftest"
	"github.com/hoistbuild/hoist/llbgen/shellscan"
)

// callsOf analyses one RUN line with the default shell.
func callsOf(t *testing.T, run string, env map[string]string) []shellscan.Call {
	t.Helper()
	cmd, shell := dftest.Run(t, run)
	calls, err := shellscan.RunCalls(cmd, shell, env)
	if err != nil {
		t.Fatalf("%s: %v", run, err)
	}
	return calls
}

func nodeSummary(u NodeUse) string {
	s := u.Manager + " " + u.Sub
	for _, f := range []struct {
		on   bool
		name string
	}{{u.Install, "install"}, {u.Fetch, "fetch"}, {u.Frozen, "frozen"}, {u.Filter, "filter"}, {u.Global, "global"}} {
		if f.on {
			s += " " + f.name
		}
	}
	if u.Dir != "" {
		s += " dir=" + u.Dir
	}
	if u.CacheDir != "" {
		s += " cache=" + u.CacheDir
	}
	if u.Via != "" {
		s += " via=" + u.Via
	}
	return s
}

func TestClassifyNode(t *testing.T) {
	cases := []struct {
		run  string
		want []string
	}{
		{"RUN npm ci", []string{"npm ci install frozen"}},
		{"RUN npm ci --omit=dev && npm ci --omit dev", []string{"npm ci install frozen", "npm ci install frozen"}},
		{"RUN npm --prefix web ci", []string{"npm ci install frozen dir=web"}},
		{"RUN npm i && npm install --no-audit lodash && npm clean-install", []string{
			"npm install install", "npm install install", "npm ci install frozen"}},
		{"RUN npm run build -- --prod && npm test && npm exec tsc", []string{"npm run", "npm test", "npm exec"}},
		{"RUN npm -w packages/a install", []string{"npm install install filter"}},
		{"RUN yarn", []string{"yarn  install"}},
		{"RUN yarn --frozen-lockfile", []string{"yarn  install frozen"}},
		{"RUN yarn install --immutable", []string{"yarn install install frozen"}},
		{"RUN yarn --cwd dir install", []string{"yarn install install dir=dir"}},
		{"RUN yarn build --frozen-lockfile", []string{"yarn build"}}, // script argument
		{"RUN yarn workspaces focus --production @app/api", []string{"yarn workspaces focus install filter"}},
		{"RUN yarn add left-pad", []string{"yarn add install"}},
		{"RUN pnpm install --frozen-lockfile && pnpm i", []string{"pnpm install install frozen", "pnpm install install"}},
		{"RUN pnpm fetch --prod", []string{"pnpm fetch fetch"}},
		{"RUN pnpm fetch --store-dir /s && npm ci --cache=/c && yarn --cache-folder /y", []string{
			"pnpm fetch fetch cache=/s", "npm ci install frozen cache=/c", "yarn  install cache=/y"}},
		{"RUN pnpm -C dir install", []string{"pnpm install install dir=dir"}},
		{"RUN pnpm --filter ./apps/web... install --offline", []string{"pnpm install install filter"}},
		{"RUN pnpm run build && pnpm -r build", []string{"pnpm run", "pnpm build"}},
		{"RUN npx tsc -p . && pnpx x", []string{"npx exec", "npx exec"}},
		{"RUN corepack enable && corepack prepare pnpm@9 --activate", []string{"corepack enable", "corepack prepare"}},
		{"RUN corepack yarn install --immutable", []string{"yarn install install frozen via=corepack"}},
		{"RUN corepack pnpm@9.1.0 install", []string{"pnpm install install via=corepack"}},
		{"RUN node index.js && npm-check", []string{"-", "-"}},
		{"RUN node .yarn/releases/yarn-4.9.1.cjs install --immutable && ./.yarn/releases/yarn-4.9.1.cjs build", []string{
			"yarn install install frozen via=node", "yarn build"}},
		{"RUN npx pnpm@9 install --frozen-lockfile && npx --yes yarn && npx tsc", []string{
			"pnpm install install frozen via=npx", "yarn  install via=npx", "npx exec"}},
		{"RUN npm install -g pnpm@9 && yarn global add serve && pnpm add --global x", []string{
			"npm install global", "yarn global add global", "pnpm add global"}},
	}
	for _, tc := range cases {
		t.Run(tc.run, func(t *testing.T) {
			var got []string
			for _, c := range callsOf(t, tc.run, nil) {
				u, ok := ClassifyNode(c)
				if !ok {
					got = append(got, "-")
					continue
				}
				got = append(got, nodeSummary(u))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

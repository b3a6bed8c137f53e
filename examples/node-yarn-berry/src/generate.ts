// Renders templates/index.mustache with the release list into dist/index.html.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Mustache from "mustache";

interface Release {
  version: string;
  notes: string[];
}

const releases: Release[] = [
  { version: "0.2.0", notes: ["Go workspaces", "pnpm fetch"] },
  { version: "0.1.0", notes: ["First release <beta>"] },
];

const root = join(__dirname, "..");
const template = readFileSync(join(root, "templates", "index.mustache"), "utf8");
const html = Mustache.render(template, { releases, latest: releases[0].version });
mkdirSync(join(root, "dist"), { recursive: true });
writeFileSync(join(root, "dist", "index.html"), html);
console.log(`wrote dist/index.html (${html.length} bytes)`);

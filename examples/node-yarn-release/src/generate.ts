// Reads data/services.yaml, validates it, and writes dist/index.html: one
// row per service with its state and how long ago it last changed.
import { readFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { z } from "zod";
import { formatDistanceStrict, parseISO } from "date-fns";

const Service = z.object({
  name: z.string().min(1),
  state: z.enum(["operational", "degraded", "outage"]),
  since: z.string().datetime(),
  note: z.string().optional(),
});
const Status = z.object({ generatedAt: z.string().datetime(), services: z.array(Service).min(1) });

const root = join(__dirname, "..");
const status = Status.parse(parse(readFileSync(join(root, "data", "services.yaml"), "utf8")));
const now = parseISO(status.generatedAt);

const escape = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
const rows = status.services
  .map((s) => {
    const age = formatDistanceStrict(parseISO(s.since), now);
    const note = s.note ? `<small>${escape(s.note)}</small>` : "";
    return `<tr class="${s.state}"><td>${escape(s.name)}</td><td>${s.state}</td><td>${age}</td><td>${note}</td></tr>`;
  })
  .join("\n");
const worst = status.services.some((s) => s.state === "outage")
  ? "Major outage"
  : status.services.some((s) => s.state === "degraded")
    ? "Partial degradation"
    : "All systems operational";

mkdirSync(join(root, "dist"), { recursive: true });
writeFileSync(
  join(root, "dist", "index.html"),
  `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Status</title>
<style>body{font:16px system-ui;margin:2rem}.operational td:nth-child(2){color:green}.degraded td:nth-child(2){color:orange}.outage td:nth-child(2){color:red}</style>
</head><body><h1>${worst}</h1><table>
<tr><th>Service</th><th>State</th><th>For</th><th></th></tr>
${rows}
</table></body></html>
`,
);
console.log(`status page: ${status.services.length} services, ${worst.toLowerCase()}`);

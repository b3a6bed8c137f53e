import ms from "ms";

/** A finished build as the status page shows it. */
export interface Build {
  name: string;
  durationMs: number;
  cached: boolean;
}

/** Renders one build as "name: 1.5s (cached)". */
export function describe(b: Build): string {
  return `${b.name}: ${ms(b.durationMs)}${b.cached ? " (cached)" : ""}`;
}

/** Total time saved by cached builds, compared with the slowest uncached one. */
export function saved(builds: Build[]): string {
  const uncached = builds.filter((b) => !b.cached).map((b) => b.durationMs);
  const worst = uncached.length ? Math.max(...uncached) : 0;
  const total = builds
    .filter((b) => b.cached)
    .reduce((sum, b) => sum + Math.max(0, worst - b.durationMs), 0);
  return ms(total, { long: true });
}

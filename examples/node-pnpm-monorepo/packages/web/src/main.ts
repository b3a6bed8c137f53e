import { describe, saved, type Build } from "@example/format";

const builds: Build[] = [
  { name: "cold", durationMs: 94_000, cached: false },
  { name: "warm", durationMs: 7_500, cached: true },
];

const list = document.getElementById("builds");
for (const b of builds) {
  const li = document.createElement("li");
  li.textContent = describe(b);
  list?.appendChild(li);
}
const summary = document.getElementById("saved");
if (summary) summary.textContent = `Saved ${saved(builds)}`;

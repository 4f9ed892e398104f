// Runs PEV2's own plan parser (the PlanService class of the pev2 npm package, the code behind
// explain.dalibo.com) on EXPLAIN (ANALYZE, FORMAT JSON) documents and checks the exclusive
// times it derives: every node's exclusive time is non-negative before PEV2 clamps it at zero,
// and the exclusive times add up to the Execution Time.
//
// pev2's package exports only its Vue component; PlanService is bundled, unexported, in
// dist/pev2.es.js. We load that file with one line appended that exports the class (found as
// the class defining both `fromSource(` and `calculateExclusives(`), so the code that runs is
// PEV2's, unmodified. PEV2's rule (PlanService.calculateActuals): a node's duration is
// "Actual Total Time" x "Actual Loops" / (Workers Launched of the Gather above + 1); its
// exclusive duration is that minus the durations of its children other than InitPlans.
//
// Usage: node check.mjs FILE.json...   (each a `pqsim run --format json` object or an EXPLAIN
// document); prints one line per file and exits 1 if any check fails.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const bundle = path.join(here, "node_modules/pev2/dist/pev2.es.js");
const src = fs.readFileSync(bundle, "utf8");
const lines = src.split("\n");
const at = lines.findIndex((l) => /^\s*fromSource\(/.test(l));
if (at < 0) throw new Error("pev2: PlanService.fromSource not found in " + bundle);
let name = null;
for (let i = at; i >= 0; i--) {
  const m = /^class (\w+)/.exec(lines[i]);
  if (m) { name = m[1]; break; }
}
if (!name || !src.includes("calculateExclusives(")) throw new Error("pev2: PlanService class not found");
const patched = path.join(here, "node_modules/pev2/dist/pev2.planservice.mjs");
fs.writeFileSync(patched, src + `\nexport { ${name} as PlanService };\n`);
const { PlanService } = await import(pathToFileURL(patched).href);

const DUR = "*Duration (exclusive)";
let failed = false;
for (const file of process.argv.slice(2)) {
  const doc = JSON.parse(fs.readFileSync(file, "utf8"));
  const explain = Array.isArray(doc) ? doc : doc.explain;
  const content = new PlanService().fromSource(JSON.stringify(explain));
  const plan = new PlanService().createPlan(path.basename(file), content, "");
  const nodes = [];
  const walk = (n) => { nodes.push(n); (n.Plans || []).forEach(walk); };
  walk(plan.content.Plan);
  const problems = [];
  let sum = 0;
  for (const n of nodes) {
    // Unclamped: PEV2 stores max(0, raw); recompute raw with the same rule to see a clamp.
    const kids = (n.Plans || []).filter((c) => c["Parent Relationship"] !== "InitPlan" || n["Node Type"] === "Result");
    const raw = n["Actual Total Time"] - kids.reduce((a, c) => a + (c["Actual Total Time"] || 0), 0);
    if (raw < -0.0015) problems.push(`${n["Node Type"]} #${n.nodeId}: exclusive ${raw.toFixed(3)} ms < 0`);
    sum += n[DUR];
  }
  const exec = content["Execution Time"];
  const tol = Math.max(0.01, 0.02 * exec);
  if (Math.abs(sum - exec) > tol) problems.push(`exclusive times add up to ${sum.toFixed(3)} ms, Execution Time ${exec} ms`);
  console.log(`${path.basename(file)}: ${nodes.length} nodes, exclusive sum ${sum.toFixed(3)} ms, Execution Time ${exec} ms${problems.length ? "\n  " + problems.join("\n  ") : ""}`);
  if (problems.length) failed = true;
}
process.exit(failed ? 1 : 0);

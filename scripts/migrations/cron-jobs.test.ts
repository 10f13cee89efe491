// Every pg_cron job a migration schedules is one the nightly prune knows (private.pipeline_cron_jobs): a job
// left out would fill cron.job_run_details, which pg_cron never empties, with a run every few seconds.
import { assert, assertEquals } from "../../shared/testing/assert.ts";

const dir = new URL("../../supabase/migrations/", import.meta.url);
const migrations = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".sql")).sort()
  .map((name) => Deno.readTextFileSync(new URL(name, dir)).replace(/--[^\n]*/g, ""));

const scheduled = new Set(
  migrations.flatMap((sql) => [...sql.matchAll(/cron\.schedule\(\s*'([^']+)'/g)].map((m) => m[1])),
);

/** The names the newest definition of private.pipeline_cron_jobs() returns. */
function pruned(): Set<string> {
  const newest = migrations.findLast((sql) => sql.includes("function private.pipeline_cron_jobs()"));
  assert(newest, "a migration defines private.pipeline_cron_jobs()");
  const body = newest.slice(newest.indexOf("function private.pipeline_cron_jobs()")).split("$$")[1];
  return new Set([...body.matchAll(/'([^']+)'/g)].map((m) => m[1]));
}

Deno.test("the nightly prune names every cron job the migrations schedule, and nothing else", () => {
  assert(scheduled.size >= 4, `found the scheduled jobs (${[...scheduled].join(", ")})`);
  assertEquals([...pruned()].sort(), [...scheduled].sort());
});

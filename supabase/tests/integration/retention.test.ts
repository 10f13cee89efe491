// The nightly prune commits as it goes (20261227160000): pg_cron's job calls private.run_retention, which prunes a
// batch of each table at a time and commits after each round. Run here as the job runs it: a CALL on its own,
// on a connection of the job's owner.
import { assert, assertEquals, assertRejects } from "../../../shared/testing/assert.ts";
import { connect } from "../../../shared/testing/stack.ts";

const sql = connect(1);

Deno.test("the nightly prune deletes past its retention in rounds, committing each, and records one event", async () => {
  const marker = `retention-test-${crypto.randomUUID()}`;
  // 25 events past the 30 days events are kept, and one recent: with rounds of 10, three rounds.
  await sql`
    insert into public.observability_events (source, event_type, severity, context, created_at)
    select 'assignment.sweeper', ${marker}, 'info', '{}'::jsonb, now() - interval '40 days' from generate_series(1, 25)`;
  await sql`
    insert into public.observability_events (source, event_type, severity, context)
    values ('assignment.sweeper', ${marker}, 'info', '{}'::jsonb)`;
  const [{ job }] = await sql`select command as job from cron.job where jobname = 'assignment-retention'`;
  assertEquals(job, "call private.run_retention()", "the nightly job calls the procedure");

  const [{ before }] = await sql`select coalesce(max(id), 0) as before from public.observability_events`;
  const [{ finished: finishedBefore }] =
    await sql`select finished_at as finished from private.retention_runs`;
  await sql`call private.run_retention(10)`;
  // Its finish is recorded, which ops.health reads (a prune not finished for 30 hours is a problem).
  const [{ finished }] = await sql`select finished_at as finished from private.retention_runs`;
  assert(finished > finishedBefore, `the finish is recorded (${finishedBefore} → ${finished})`);

  const [{ left, recent }] = await sql`
    select count(*) filter (where created_at < now() - interval '30 days')::int as left,
           count(*) filter (where created_at > now() - interval '1 day')::int as recent
      from public.observability_events where event_type = ${marker}`;
  assertEquals([left, recent], [0, 1], "every event past its retention is gone, the recent one stays");
  const events = await sql`
    select context from public.observability_events where event_type = 'retention.pruned' and id > ${before}`;
  assertEquals(events.length, 1, "one event for the whole prune, not one a round");
  const pruned = events[0].context;
  assert(
    pruned.observability_events >= 25,
    `it counts every event it deleted (${pruned.observability_events})`,
  );
  assert(pruned.rounds >= 3, `25 events in rounds of 10 take three rounds at least (${pruned.rounds})`);

  // It commits between rounds, so it runs only as a statement of its own, as pg_cron runs it.
  const inBlock = await assertRejects(() => sql.begin((tx) => tx`call private.run_retention(10)`));
  assert(String(inBlock).includes("invalid transaction termination"), String(inBlock));
  const noBatch = await assertRejects(() => sql`call private.run_retention(0)`);
  assert(String(noBatch).includes("batch is at least 1 row"), String(noBatch));
  const [{ after }] = await sql`select finished_at as after from private.retention_runs`;
  assertEquals(after, finished, "a prune that failed records no finish");
});

Deno.test("a prune with nothing past its retention records nothing but its finish", async () => {
  // Its record deleted by hand: the next prune to finish writes it again.
  await sql`delete from private.retention_runs`;
  await sql`call private.run_retention()`;
  const [{ n: records }] = await sql`select count(*)::int as n from private.retention_runs`;
  assertEquals(records, 1, "the finish is recorded again");
  const [{ before }] = await sql`select coalesce(max(id), 0) as before from public.observability_events`;
  await sql`call private.run_retention()`;
  const [{ n }] = await sql`
    select count(*)::int as n from public.observability_events where event_type = 'retention.pruned' and id > ${before}`;
  assertEquals(n, 0);
});

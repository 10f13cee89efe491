// Asks for a delivery share runs: a burst costs one run, an ask during a run gets a run after it, runs never
// overlap, and every ask resolves once a run that started after it has ended.
import { assert, assertEquals } from "../testing/assert.ts";
import { batched } from "./batched.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function recorder(runMs: number) {
  const runs: { start: number; end: number }[] = [];
  let active = 0;
  let overlapped = false;
  const run = async () => {
    overlapped ||= active > 0;
    active++;
    const start = performance.now();
    await sleep(runMs);
    runs.push({ start, end: performance.now() });
    active--;
  };
  return { runs, run, overlapped: () => overlapped, running: () => active > 0 };
}

Deno.test("a burst of asks within the window shares one run, after the window", async () => {
  const r = recorder(5);
  const ask = batched(r.run, 30);
  const asked = performance.now();
  await Promise.all(Array.from({ length: 20 }, () => ask()));
  assertEquals(r.runs.length, 1, "twenty asks, one run");
  assert(r.runs[0].start - asked >= 25, `the run waited for the window (${r.runs[0].start - asked} ms)`);
});

Deno.test("an ask during a run gets a run of its own after it, and runs never overlap", async () => {
  const r = recorder(40);
  const ask = batched(r.run, 10);
  const first = ask();
  while (!r.running()) await sleep(1);
  // Asked in the same turn that saw the first run going, so while it runs, however slow the machine.
  const askedDuring = performance.now();
  const second = ask();
  await Promise.all([first, second]);
  assertEquals(r.runs.length, 2);
  assert(!r.overlapped(), "the second run started only after the first ended");
  assert(
    r.runs[1].start >= askedDuring,
    "the ask made during the first run is covered by a run started after it",
  );
});

Deno.test("asks spread out beyond the window get a run each", async () => {
  const r = recorder(1);
  const ask = batched(r.run, 5);
  for (let i = 0; i < 3; i++) await ask();
  assertEquals(r.runs.length, 3);
});

Deno.test("a run that fails rejects its asks and does not stop the runs after it", async () => {
  let calls = 0;
  const ask = batched(
    () => ++calls === 1 ? Promise.reject(new Error("outbox unreachable")) : Promise.resolve(),
    5,
  );
  const failed = await ask().then(() => "resolved", (error) => String(error));
  assertEquals(failed, "Error: outbox unreachable");
  await ask();
  assertEquals(calls, 2, "the next ask got a run of its own");
});

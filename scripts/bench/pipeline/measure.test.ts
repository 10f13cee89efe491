import { assertEquals } from "../../../shared/testing/assert.ts";
import { coresBusy, type Counters, parseProcStat, statementPhases, treeTicks } from "./measure.ts";

const line = (pid: number, ppid: number, name: string, u: number, s: number, cu = 0, cs = 0) =>
  `${pid} (${name}) S ${ppid} 1 1 0 -1 4194560 100 0 0 0 ${u} ${s} ${cu} ${cs} 20 0 4 0 100 1000 10`;

Deno.test("/proc/<pid>/stat: ppid and utime + stime + cutime + cstime, whatever the command name holds", () => {
  assertEquals(parseProcStat(line(42, 7, "deno (main) x", 120, 30, 5, 1)), { pid: 42, ppid: 7, ticks: 156 });
});

Deno.test("a process tree's ticks are its own and its live descendants', nothing outside it", () => {
  const stats = [
    line(1, 0, "init", 1000, 1000),
    line(10, 1, "bash", 1, 1, 50, 10), // a supervisor loop; 60 ticks of a reaped child
    line(11, 10, "deno", 200, 40),
    line(12, 11, "worker child", 5, 5),
    line(20, 1, "other", 300, 300),
  ].map(parseProcStat);
  assertEquals(treeTicks(stats, 10), 2 + 60 + 240 + 10);
  assertEquals(treeTicks(stats, 11), 250);
  assertEquals(treeTicks(stats, 99), null);
});

Deno.test("cores busy: CPU seconds per second of wall time for each process; none for a missing one or a short span", () => {
  const at = (ms: number, postgres: number, functions: number | null): Counters => ({
    at: ms,
    commits: 0,
    rows_written: 0,
    bookings_seq_rows: 0,
    cpu_ms: { postgres, functions, pg_net_worker: null, driver: 0 },
  });
  // 10 s in which Postgres used 15 s of CPU (one and a half cores) and the functions 2 s.
  assertEquals(coresBusy(at(0, 1000, 500), at(10_000, 16_000, 2_500)), {
    postgres: 1.5,
    functions: 0.2,
    pg_net_worker: null,
    driver: 0,
  });
  assertEquals(coresBusy(at(0, 0, null), at(10_000, 5_000, 100)).functions, null);
  assertEquals(coresBusy(at(0, 0, 0), at(4_000, 3_000, 0)).postgres, null);
});

Deno.test("statement phases: while offered is the totals when offering stopped, draining the rest", () => {
  const mid = [{ query: "select  claim()", calls: 100, ms: 100, blocks: 1000 }];
  const end = [
    { query: "select  claim()", calls: 150, ms: 250, blocks: 1500 },
    { query: "select lease()", calls: 10, ms: 5, blocks: 20 },
  ];
  assertEquals(statementPhases(mid, end), [
    {
      query: "select claim()",
      offered: { calls: 100, ms_per_call: 1, blocks_per_call: 10 },
      draining: { calls: 50, ms_per_call: 3, blocks_per_call: 10 },
    },
    // First called after offering stopped: nothing while offered.
    { query: "select lease()", offered: null, draining: { calls: 10, ms_per_call: 0.5, blocks_per_call: 2 } },
  ]);
  assertEquals(statementPhases(mid, end, 1).length, 1);
});

import { assert, assertEquals } from "../../../shared/testing/assert.ts";
import {
  coresTable,
  costTable,
  curveTable,
  phaseTable,
  type Run,
  statementTable,
  targetTable,
  windowTable,
} from "./report.ts";
import { summary } from "./stats.ts";

const cost = {
  db_ms_per_booking: 18.5,
  top_statements: [{
    query: "select * from a | b",
    calls_per_booking: 1,
    ms_per_call: 9.1,
    ms_per_booking: 9.1,
  }],
  commits_per_booking: 6.8,
  rows_written_per_booking: 29.8,
  bookings_seq_rows_per_booking: 0.4,
  cpu_ms_per_booking: { functions: 8.6, pg_net_worker: null, postgres: 28.5, driver: 1.2 },
  window_s: 12,
};

Deno.test("tables have a header, a separator and one row per item, with the same number of cells", () => {
  for (
    const table of [
      costTable(cost),
      statementTable(cost),
      windowTable([{ from_s: 0, to_s: 5, per_s: 27 }], 30),
      targetTable([{ name: "x", ok: false, measured: "1" }]),
    ]
  ) {
    const cells = table.map((row) => row.split(/(?<!\\)\|/).length);
    assert(cells.every((n) => n === cells[0]), `ragged table:\n${table.join("\n")}`);
  }
  assertEquals(windowTable([{ from_s: 0, to_s: 5, per_s: 27 }], 30)[2], "| 0–5 | 27 | 90 % |");
  assert(
    costTable(cost).some((r) => r.includes("| pg_net worker CPU (ms) | – |")),
    "a missing figure is a dash",
  );
  assert(targetTable([{ name: "x", ok: false, measured: "1" }])[2].includes("**missed**"));
  assert(costTable(cost).includes("| the benchmark's own CPU, inserting and watching (ms) | 1.2 |"));
  assert(costTable(cost).includes("| rows of bookings read by sequential scans | 0.4 |"));
});

Deno.test("the cores table has a row per process, offered beside draining, a dash where unknown", () => {
  const busy = { postgres: 1.49, functions: 0.22, pg_net_worker: 0.01, driver: 0.11 };
  const table = coresTable(
    { cores_busy: { offered: busy, draining: { ...busy, driver: null } } } as unknown as Run,
  );
  assertEquals(table.length, 6);
  assertEquals(table[2], "| Postgres, all backends | 1.49 | 1.49 |");
  assertEquals(table[5], "| this benchmark (inserting, watching) | 0.11 | – |");
});

Deno.test("without pg_stat_statements the report says so instead of a table", () => {
  assertEquals(statementTable({ ...cost, db_ms_per_booking: null }).length, 1);
});

Deno.test("the curve table has one row per point", () => {
  const run = {
    offered_rate_per_s: 100,
    goodput_per_s: 99.5,
    confirmed_per_s: 99.5,
    insert_to_confirmed_ms: summary([10, 20, 30]),
    drain_s: 0.2,
    outcomes: { redispatches_per_booking: 0 },
    cost,
  } as unknown as Run;
  const table = curveTable([run, run]);
  assertEquals(table.length, 4);
  assertEquals(table[2], "| 100 | 99.5 | 99.5 | 20 / 30 / 30 | 0.2 | 0 | 18.5 | 8.6 |");
});

Deno.test("the phase table has a row per statement, a dash for a phase it was not called in", () => {
  const table = phaseTable({
    statements_by_phase: [{
      query: "select a | b",
      offered: null,
      draining: { calls: 3, ms_per_call: 1.5, blocks_per_call: 12 },
    }],
  } as unknown as Run);
  assertEquals(table[2], "| `select a \\| b` | 0 | – | – | 3 | 1.5 | 12 |");
  assertEquals(phaseTable({ statements_by_phase: null } as unknown as Run).length, 1);
});

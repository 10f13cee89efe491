// Markdown for the pipeline benchmark's report: pure functions of the measured results.
import type { Cost, Processes, StatementPhases } from "./measure.ts";
import type { Summary, Window } from "./stats.ts";

export interface Run {
  planned_rate_per_s: number;
  offered_rate_per_s: number;
  bookings: number;
  insert_errors: number;
  offered_seconds: number;
  /** Bookings that became terminal per second during the offered window, after its first quarter. */
  goodput_per_s: number;
  confirmed_per_s: number;
  goodput_windows: Window[];
  /** From the last insert until the last booking became terminal. */
  drain_s: number;
  all_terminal: boolean;
  insert_to_confirmed_ms: Summary;
  insert_to_terminal_ms: Summary;
  dispatch_delay_ms: Summary;
  processing_ms: Summary;
  /** Cores each process kept busy while bookings were offered, and while the backlog drained after. */
  cores_busy: {
    offered: Record<keyof Processes, number | null>;
    draining: Record<keyof Processes, number | null>;
  };
  /** The costliest statements per call while offered and while draining; null without pg_stat_statements. */
  statements_by_phase: StatementPhases[] | null;
  outcomes: {
    confirmed: number;
    manual_review: number;
    manual_review_without_reason: number;
    manual_review_reasons: Record<string, number>;
    cancelled: number;
    open: number;
    errors: number;
    conflicts: number;
    lock_contention: number;
    rate_limited_retries: number;
    circuit_open_deferrals: number;
    lock_wait_p95_ms: number;
    slot_wait_p95_ms: number;
    events_per_booking: number;
    redispatches_per_booking: number;
    double_bookings: number;
    seating_faults: number;
  };
  cost: Cost;
}

/** A statement's text cut to `n` characters for a table cell, its pipes escaped. */
const clip = (q: string, n: number) => (q.length > n ? q.slice(0, n - 3) + "…" : q).replaceAll("|", "\\|");

const ms = (x: number | null) => x === null || !Number.isFinite(x) ? "–" : String(x);

export function latencyTable(run: Run): string[] {
  const rows: [string, Summary][] = [
    ["insert → confirmed", run.insert_to_confirmed_ms],
    ["insert → terminal", run.insert_to_terminal_ms],
    ["of which dispatch (insert → attempt start)", run.dispatch_delay_ms],
    ["processing (attempt start → confirmed)", run.processing_ms],
  ];
  return [
    `| ms | p50 | p95 | p99 | max | n |`,
    `| --- | ---: | ---: | ---: | ---: | ---: |`,
    ...rows.map(([name, s]) =>
      `| ${name} | ${ms(s.p50)} | ${ms(s.p95)} | ${ms(s.p99)} | ${ms(s.max)} | ${s.n} |`
    ),
  ];
}

export function outcomeLine(run: Run): string {
  const o = run.outcomes;
  const reasons = Object.entries(o.manual_review_reasons).map(([r, n]) => `${r} ${n}`).join(", ");
  return `Offered ${run.bookings} bookings at ${run.offered_rate_per_s}/s (planned ${run.planned_rate_per_s}/s` +
    `${run.insert_errors ? `, ${run.insert_errors} inserts failed` : ""}); goodput ${run.goodput_per_s}/s ` +
    `terminal (${run.confirmed_per_s}/s confirmed) during the offered window after its first quarter; drained ${run.drain_s} s after the ` +
    `last insert. Confirmed ${o.confirmed}, manual review ${o.manual_review}${
      reasons ? ` (${reasons})` : ""
    }, ` +
    `still open ${o.open}, errors ${o.errors}, double bookings ${o.double_bookings}, seating faults ${o.seating_faults}. Contention: ${o.conflicts} ` +
    `commit conflicts, ${o.lock_contention} lock contentions, ${o.rate_limited_retries} rate-limited deferrals, ` +
    `${o.circuit_open_deferrals} circuit-open deferrals, lock / slot wait p95 ${o.lock_wait_p95_ms} / ` +
    `${o.slot_wait_p95_ms} ms; re-dispatches ${o.redispatches_per_booking} per booking; ` +
    `${o.events_per_booking} events per booking.`;
}

export function costTable(cost: Cost): string[] {
  const c = cost.cpu_ms_per_booking;
  return [
    `| per booking | value |`,
    `| --- | ---: |`,
    `| database time (top-level statements, ms) | ${ms(cost.db_ms_per_booking)} |`,
    `| commits | ${ms(cost.commits_per_booking)} |`,
    `| rows written (inserted + updated + deleted) | ${ms(cost.rows_written_per_booking)} |`,
    `| rows of bookings read by sequential scans | ${ms(cost.bookings_seq_rows_per_booking)} |`,
    `| functions process CPU (ms) | ${ms(c.functions)} |`,
    `| pg_net worker CPU (ms) | ${ms(c.pg_net_worker)} |`,
    `| Postgres CPU, all backends (ms) | ${ms(c.postgres)} |`,
    `| the benchmark's own CPU, inserting and watching (ms) | ${ms(c.driver)} |`,
  ];
}

export function statementTable(cost: Cost): string[] {
  if (cost.db_ms_per_booking === null) return ["pg_stat_statements is not loaded: no statement figures."];
  return [
    `| top statement | calls/booking | ms/call | ms/booking |`,
    `| --- | ---: | ---: | ---: |`,
    ...cost.top_statements.map((s) =>
      `| \`${clip(s.query, 90)}\` | ${s.calls_per_booking} | ${s.ms_per_call} | ${s.ms_per_booking} |`
    ),
  ];
}

export function windowTable(windows: readonly Window[], capacity?: number): string[] {
  return [
    `| window (s) | goodput (/s) |${capacity ? " of capacity |" : ""}`,
    `| --- | ---: |${capacity ? " ---: |" : ""}`,
    ...windows.map((w) =>
      `| ${w.from_s}–${w.to_s} | ${w.per_s} |${
        capacity ? ` ${Math.round((w.per_s / capacity) * 100)} % |` : ""
      }`
    ),
  ];
}

/** Every section of one run, in order. */
export function runSection(run: Run): string[] {
  return [
    outcomeLine(run),
    ``,
    ...latencyTable(run),
    ``,
    ...costTable(run.cost),
    ``,
    ...statementTable(run.cost),
  ];
}

/** Where the machine's cores went while bookings were offered and while the backlog drained. */
export function coresTable(run: Run): string[] {
  const { offered, draining } = run.cores_busy;
  const row = (name: string, k: keyof Processes) => `| ${name} | ${ms(offered[k])} | ${ms(draining[k])} |`;
  return [
    `| cores busy | while offered | draining |`,
    `| --- | ---: | ---: |`,
    row("Postgres, all backends", "postgres"),
    row("functions", "functions"),
    row("pg_net worker", "pg_net_worker"),
    row("this benchmark (inserting, watching)", "driver"),
  ];
}

export function phaseTable(run: Run): string[] {
  if (!run.statements_by_phase) return ["pg_stat_statements is not loaded: no statement figures."];
  const cell = (p: StatementPhases["offered"]) =>
    p ? `${p.calls} | ${p.ms_per_call} | ${p.blocks_per_call}` : `0 | – | –`;
  return [
    `| statement | calls offered | ms/call | buffers/call | calls draining | ms/call | buffers/call |`,
    `| --- | ---: | ---: | ---: | ---: | ---: | ---: |`,
    ...run.statements_by_phase.map((s) =>
      `| \`${clip(s.query, 70)}\` | ${cell(s.offered)} | ${cell(s.draining)} |`
    ),
  ];
}

export interface Target {
  name: string;
  ok: boolean;
  measured: string;
}

export function targetTable(targets: readonly Target[]): string[] {
  return [
    `| target | result | measured |`,
    `| --- | --- | ---: |`,
    ...targets.map((t) => `| ${t.name} | ${t.ok ? "met" : "**missed**"} | ${t.measured} |`),
  ];
}

export function curveTable(points: readonly Run[]): string[] {
  return [
    `| offered (/s) | goodput (/s) | confirmed (/s) | p50 / p95 / p99 insert→confirmed (ms) | drain (s) | re-dispatches / booking | DB ms / booking | functions CPU ms / booking |`,
    `| ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |`,
    ...points.map((r) => {
      const l = r.insert_to_confirmed_ms;
      return `| ${r.offered_rate_per_s} | ${r.goodput_per_s} | ${r.confirmed_per_s} | ${ms(l.p50)} / ${
        ms(l.p95)
      } / ${ms(l.p99)} | ${r.drain_s} | ${r.outcomes.redispatches_per_booking} | ${
        ms(r.cost.db_ms_per_booking)
      } | ${ms(r.cost.cpu_ms_per_booking.functions)} |`;
    }),
  ];
}

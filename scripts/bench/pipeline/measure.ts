// What a run costs, as counters read before and after its measured window:
//   database time: top-level statements in pg_stat_statements (reset at the start of the window);
//   commits and rows written: pg_stat_database's xact_commit and tup_inserted + tup_updated + tup_deleted;
//   rows of bookings read by sequential scans: pg_stat_user_tables' seq_tup_read (a plan that scans the table
//        whole costs more with every booking inserted; the benchmark's own reads while measuring go by index);
//   CPU: utime + stime from /proc of a process tree (the functions server, the pg_net stand-in worker, the
//        postmaster and its backends), the live processes' own and reaped children's time.
// The benchmark's own queries start with BENCH_TAG and are left out of the statement figures.
import type postgres from "postgres";
import { round } from "./stats.ts";

export const BENCH_TAG = "/* bench */";
/** pg_cron 1.4's sweeper loop: one CALL a minute that sleeps most of it; its time is not work. */
const SLEEPING_WRAPPER = /^call private\.run_sweeper/i;

export interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime + cutime + cstime, in clock ticks. */
  ticks: number;
}

/** Parses /proc/<pid>/stat; the command name is in parentheses and may hold spaces. */
export function parseProcStat(text: string): ProcStat {
  const close = text.lastIndexOf(")");
  const pid = Number(text.slice(0, text.indexOf("(")).trim());
  const f = text.slice(close + 2).split(" ");
  // After the name: state, ppid, …; utime, stime, cutime, cstime are fields 14–17 of the whole line.
  return { pid, ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) };
}

/** Clock ticks of `root` and every live descendant (a reaped child's ticks are in its parent's). */
export function treeTicks(stats: readonly ProcStat[], root: number): number | null {
  if (!stats.some((s) => s.pid === root)) return null;
  const children = new Map<number, ProcStat[]>();
  for (const s of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s]);
  let total = 0;
  const todo = [root];
  while (todo.length) {
    const pid = todo.pop()!;
    total += stats.find((s) => s.pid === pid)?.ticks ?? 0;
    for (const c of children.get(pid) ?? []) todo.push(c.pid);
  }
  return total;
}

function procStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      out.push(parseProcStat(Deno.readTextFileSync(`/proc/${entry.name}/stat`)));
    } catch {
      // gone between the listing and the read
    }
  }
  return out;
}

let clockTicks: number | null = null;
function ticksPerSecond(): number {
  if (clockTicks === null) {
    try {
      const out = new Deno.Command("getconf", { args: ["CLK_TCK"] }).outputSync();
      clockTicks = Number(new TextDecoder().decode(out.stdout).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

function readPid(path: string): number | null {
  try {
    const pid = Number(Deno.readTextFileSync(path).split("\n")[0].trim());
    return pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

export interface Processes {
  functions: number | null;
  pg_net_worker: number | null;
  postgres: number | null;
  /** This benchmark's own process (the inserts, the progress reads): it shares the machine's cores, as a
   * platform's own servers would not. */
  driver: number | null;
}

const PROCESSES: readonly (keyof Processes)[] = ["functions", "pg_net_worker", "postgres", "driver"];

/** The stack's processes: scripts/stack keeps <name>.pid in STACK_DIR; Postgres in its data directory. */
export async function stackProcesses(sql: postgres.Sql, stackDir: string): Promise<Processes> {
  const [{ dir }] = await sql.unsafe(`${BENCH_TAG} select current_setting('data_directory') as dir`);
  return {
    functions: readPid(`${stackDir}/functions.pid`),
    pg_net_worker: readPid(`${stackDir}/pg-net-worker.pid`),
    postgres: readPid(`${dir}/postmaster.pid`),
    driver: Deno.pid,
  };
}

export interface Counters {
  at: number;
  commits: number;
  rows_written: number;
  bookings_seq_rows: number;
  cpu_ms: Record<keyof Processes, number | null>;
}

/** Where the statement figures come from; null when pg_stat_statements is not loaded. */
export async function statementsAvailable(sql: postgres.Sql): Promise<boolean> {
  const [{ ok }] = await sql.unsafe(
    `${BENCH_TAG} select exists (select 1 from pg_extension where extname = 'pg_stat_statements')
       and current_setting('shared_preload_libraries') like '%pg_stat_statements%' as ok`,
  );
  return ok;
}

/**
 * The database's top-level statements since the statistics were reset, costliest first: every one but the
 * benchmark's own (BENCH_TAG) and the sweeper's sleeping CALL.
 */
export async function pipelineStatements(
  sql: postgres.Sql,
): Promise<StatementTotals[]> {
  const rows = await sql.unsafe(
    `${BENCH_TAG} select query, sum(calls)::bigint as calls, sum(total_exec_time)::float8 as ms,
            sum(shared_blks_hit + shared_blks_read)::bigint as blocks
       from extensions.pg_stat_statements
      where toplevel and dbid = (select oid from pg_database where datname = current_database())
      group by query order by ms desc`,
  );
  return rows
    .filter((r) => !r.query.startsWith(BENCH_TAG) && !SLEEPING_WRAPPER.test(r.query))
    .map((r) => ({ query: r.query, calls: Number(r.calls), ms: r.ms, blocks: Number(r.blocks) }));
}

/** A statement's totals since the statistics were reset: calls, execution time and shared buffers read. */
export interface StatementTotals {
  query: string;
  calls: number;
  ms: number;
  blocks: number;
}

/** One statement's cost per call in two phases of a run (null where it was not called in that phase). */
export interface StatementPhases {
  query: string;
  offered: { calls: number; ms_per_call: number; blocks_per_call: number } | null;
  draining: { calls: number; ms_per_call: number; blocks_per_call: number } | null;
}

/**
 * The `top` statements by time over a run, each one's cost per call while offered (totals read when offering
 * stopped, counted from the window's reset) and while draining (the end's totals less those). Shared buffers
 * per call are work that does not depend on how busy the machine was; time per call does.
 */
export function statementPhases(
  atOfferEnd: readonly StatementTotals[],
  atEnd: readonly StatementTotals[],
  top = 6,
): StatementPhases[] {
  const mid = new Map(atOfferEnd.map((r) => [r.query, r]));
  const per = (calls: number, ms: number, blocks: number) =>
    calls > 0
      ? { calls, ms_per_call: round(ms / calls, 3), blocks_per_call: round(blocks / calls, 1) }
      : null;
  return [...atEnd].sort((a, b) => b.ms - a.ms).slice(0, top).map((end) => {
    const m = mid.get(end.query) ?? { calls: 0, ms: 0, blocks: 0 };
    return {
      query: end.query.replace(/\s+/g, " ").trim(),
      offered: per(m.calls, m.ms, m.blocks),
      draining: per(end.calls - m.calls, end.ms - m.ms, end.blocks - m.blocks),
    };
  });
}

/** Starts a measured window: statement statistics reset, counters read. */
export async function startWindow(sql: postgres.Sql, procs: Processes): Promise<Counters> {
  if (await statementsAvailable(sql)) {
    await sql.unsafe(`${BENCH_TAG} select extensions.pg_stat_statements_reset()`);
  }
  return await counters(sql, procs);
}

export async function counters(sql: postgres.Sql, procs: Processes): Promise<Counters> {
  const [db] = await sql.unsafe(
    `${BENCH_TAG} select xact_commit::bigint as commits,
            (tup_inserted + tup_updated + tup_deleted)::bigint as rows_written,
            (select seq_tup_read from pg_stat_user_tables where relid = 'public.bookings'::regclass)::bigint
              as bookings_seq_rows
       from pg_stat_database where datname = current_database()`,
  );
  const stats = procStats();
  const ms = (pid: number | null) => {
    const t = pid === null ? null : treeTicks(stats, pid);
    return t === null ? null : (t * 1000) / ticksPerSecond();
  };
  return {
    at: Date.now(),
    commits: Number(db.commits),
    rows_written: Number(db.rows_written),
    bookings_seq_rows: Number(db.bookings_seq_rows),
    cpu_ms: Object.fromEntries(PROCESSES.map((k) => [k, ms(procs[k])])) as Record<
      keyof Processes,
      number | null
    >,
  };
}

export interface Statement {
  query: string;
  calls_per_booking: number;
  ms_per_call: number;
  ms_per_booking: number;
}

export interface Cost {
  /** Sum of top-level statement time over the window ÷ bookings (null without pg_stat_statements). */
  db_ms_per_booking: number | null;
  top_statements: Statement[];
  commits_per_booking: number;
  rows_written_per_booking: number;
  bookings_seq_rows_per_booking: number;
  cpu_ms_per_booking: Record<keyof Processes, number | null>;
  window_s: number;
}

/** Ends a measured window: pg_stat_database flushes a backend's counts within a second, so wait that first. */
export async function endWindow(
  sql: postgres.Sql,
  procs: Processes,
  start: Counters,
  bookings: number,
  top = 8,
): Promise<Cost> {
  await new Promise((r) => setTimeout(r, 1500));
  const end = await counters(sql, procs);
  const per = (x: number, digits = 2) => bookings > 0 ? round(x / bookings, digits) : NaN;
  let db: number | null = null;
  let statements: Statement[] = [];
  if (await statementsAvailable(sql)) {
    const counted = await pipelineStatements(sql);
    db = per(counted.reduce((a, r) => a + r.ms, 0), 3);
    statements = counted.slice(0, top).map((r) => ({
      query: r.query.replace(/\s+/g, " ").trim(),
      calls_per_booking: per(r.calls, 3),
      ms_per_call: round(r.ms / r.calls, 3),
      ms_per_booking: per(r.ms, 3),
    }));
  }
  const cpu = (k: keyof Processes) => {
    const a = start.cpu_ms[k], b = end.cpu_ms[k];
    return a === null || b === null ? null : per(b - a, 3);
  };
  return {
    db_ms_per_booking: db,
    top_statements: statements,
    commits_per_booking: per(end.commits - start.commits),
    rows_written_per_booking: per(end.rows_written - start.rows_written),
    bookings_seq_rows_per_booking: per(end.bookings_seq_rows - start.bookings_seq_rows, 1),
    cpu_ms_per_booking: Object.fromEntries(PROCESSES.map((k) => [k, cpu(k)])) as Record<
      keyof Processes,
      number | null
    >,
    window_s: round((end.at - start.at) / 1000),
  };
}

/**
 * Cores each process kept busy between two counters (CPU seconds per second of wall time); null for a process
 * not found, or a span under 5 s: the drain is read after a poll of up to a second, whose idle tail would make
 * most of a short span.
 */
export function coresBusy(from: Counters, to: Counters): Record<keyof Processes, number | null> {
  const seconds = (to.at - from.at) / 1000;
  return Object.fromEntries(PROCESSES.map((k) => {
    const a = from.cpu_ms[k], b = to.cpu_ms[k];
    return [k, a === null || b === null || seconds < 5 ? null : round((b - a) / 1000 / seconds, 2)];
  })) as Record<keyof Processes, number | null>;
}

// Where and when a benchmark ran. Budgets and latencies are wall time, so a report is read beside the
// machine's load when the run started and the code it measured.
import { round } from "./pipeline/stats.ts";

export interface RunContext {
  readonly date: string;
  /** The short commit, marked when the work tree had changes; "unknown" outside a git checkout. */
  readonly commit: string;
  readonly machine: {
    readonly cpus: number;
    readonly os: string;
    readonly load_average_at_start: number[];
    /** The fixed work of SPEED_PROBE in ms, alone and with one copy per CPU at once (the slowest copy). */
    readonly speed_probe_ms: { readonly alone: number; readonly all_cpus: number } | null;
  };
}

export async function runContext(): Promise<RunContext> {
  const head = git("rev-parse", "--short=12", "HEAD");
  const dirty = head !== "" && git("status", "--porcelain") !== "";
  return {
    date: new Date().toISOString(),
    commit: head === "" ? "unknown" : head + (dirty ? " (with local changes)" : ""),
    machine: {
      cpus: navigator.hardwareConcurrency,
      os: Deno.build.os,
      load_average_at_start: Deno.loadavg().map((x) => round(x, 2)),
      speed_probe_ms: await speedProbe(),
    },
  };
}

/**
 * A fixed piece of work like the functions' own (objects built, serialised, parsed and sorted), timed in a
 * process of its own: a run measures the machine as much as the code, and two runs of the same code on one
 * machine have differed by two times from one day to the next. Timed alone and with one copy per CPU at once,
 * since a machine whose cores share more than they seem slows down most when every core is busy, as in a
 * drop. About two seconds; null where it cannot run.
 */
async function speedProbe(): Promise<RunContext["machine"]["speed_probe_ms"]> {
  try {
    const alone = Math.min(...await probeRuns(1), ...await probeRuns(1));
    const allCpus = Math.max(...await probeRuns(navigator.hardwareConcurrency));
    return { alone: round(alone, 1), all_cpus: round(allCpus, 1) };
  } catch {
    return null;
  }
}

// Each copy starts its work at the moment given, once every process has started.
const SPEED_PROBE = `
  await new Promise((resolve) => setTimeout(resolve, Number(Deno.args[0]) - Date.now()));
  const started = performance.now();
  let x = 1;
  const rows = [];
  for (let i = 0; i < 100000; i++) {
    x = (x * 48271) % 2147483647;
    rows.push({ id: x, table: "T" + (x % 97), party: x % 12 });
  }
  const back = JSON.parse(JSON.stringify(rows));
  back.sort((a, b) => a.id - b.id);
  console.log(performance.now() - started);
`;

/** The probe's time in each of `copies` processes started at once. */
async function probeRuns(copies: number): Promise<number[]> {
  const at = String(Date.now() + 300);
  const outputs = await Promise.all(
    Array.from(
      { length: copies },
      () =>
        new Deno.Command(Deno.execPath(), {
          args: ["eval", SPEED_PROBE, at],
          stdout: "piped",
          stderr: "null",
        })
          .output(),
    ),
  );
  return outputs.map((out) => {
    const ms = Number(new TextDecoder().decode(out.stdout).trim());
    if (!out.success || !(ms > 0)) throw new Error("the speed probe did not run");
    return ms;
  });
}

/** One line for a Markdown report: date · commit · CPUs, load and speed probe at start. */
export function describeRun(run: RunContext): string {
  const probe = run.machine.speed_probe_ms;
  return `${run.date} · commit ${run.commit} · ${run.machine.cpus} CPUs, load ${
    run.machine.load_average_at_start.join(" / ")
  } at start${
    probe ? `, speed probe ${probe.alone} ms alone, ${probe.all_cpus} ms on every CPU at once` : ""
  }`;
}

/** git's answer, or "" where there is no git or no repository (a copy of the code still runs its benchmarks). */
function git(...args: string[]): string {
  try {
    const out = new Deno.Command("git", { args, stderr: "null" }).outputSync();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : "";
  } catch {
    return "";
  }
}

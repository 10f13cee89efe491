// Where and when a benchmark ran. Budgets and latencies are wall time, so a report is read beside the
// machine's load when the run started and the code it measured.
import { round } from "./pipeline/stats.ts";

export interface RunContext {
  readonly date: string;
  /** The short commit, marked when the work tree had changes; "unknown" outside a git checkout. */
  readonly commit: string;
  readonly machine: { readonly cpus: number; readonly os: string; readonly load_average_at_start: number[] };
}

export function runContext(): RunContext {
  const head = git("rev-parse", "--short=12", "HEAD");
  const dirty = head !== "" && git("status", "--porcelain") !== "";
  return {
    date: new Date().toISOString(),
    commit: head === "" ? "unknown" : head + (dirty ? " (with local changes)" : ""),
    machine: {
      cpus: navigator.hardwareConcurrency,
      os: Deno.build.os,
      load_average_at_start: Deno.loadavg().map((x) => round(x, 2)),
    },
  };
}

/** One line for a Markdown report: date · commit · CPUs and load at start. */
export function describeRun(run: RunContext): string {
  return `${run.date} · commit ${run.commit} · ${run.machine.cpus} CPUs, load ${
    run.machine.load_average_at_start.join(" / ")
  } at start`;
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

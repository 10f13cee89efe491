import { throws } from "node:assert";
import { assertEquals } from "../../testing/assert.ts";
import { runPresolvedOrNot } from "./highs.ts";

/** A stand-in for a HiGHS model whose runs fail as told, recording the options each run saw. */
function model(failures: unknown[], runSeconds = 0.3) {
  const runs: Record<string, unknown>[] = [];
  let options: Record<string, unknown> = { time_limit: 1 };
  let clock = 0;
  return {
    runs,
    options: { set: (o: Record<string, unknown>) => void (options = { ...options, ...o }) },
    run: () => {
      runs.push({ ...options });
      clock += runSeconds;
      const failure = failures.shift();
      if (failure) throw failure;
      return {} as never;
    },
    getRunTime: () => clock,
    zeroAllClocks: () => (clock = 0, {} as never),
    clearSolver: () => ({} as never),
  };
}

const runFailed = Object.assign(new Error("run failed with HiGHS status -1"), {
  status: -1,
  operation: "run",
});

Deno.test("a presolved run that fails is run again without presolve, in the time the first one left", () => {
  const m = model([runFailed]);
  runPresolvedOrNot(m as never, 1000, true);
  assertEquals(m.runs.map((r) => r.presolve), ["on", "off"]);
  assertEquals(Math.round((m.runs[1].time_limit as number) * 1000), 700);
});

Deno.test("an unpresolved run, a run that fails again, and errors other than the solve's are not retried", () => {
  const once = model([runFailed]);
  throws(() => runPresolvedOrNot(once as never, 1000, false), /status -1/);
  assertEquals(once.runs.length, 1, "no presolve asked: nothing to drop");

  const twice = model([runFailed, runFailed]);
  throws(() => runPresolvedOrNot(twice as never, 1000, true), /status -1/);
  assertEquals(twice.runs.length, 2, "the retry's failure is the answer");

  const disposed = Object.assign(new Error("model disposed"), { status: -1, operation: "dispose" });
  const other = model([disposed]);
  throws(() => runPresolvedOrNot(other as never, 1000, true), /disposed/);
  assertEquals(other.runs.length, 1, "a lifecycle error is not the solve's");

  const aborted = model([new WebAssembly.RuntimeError("Aborted(OOM)")]);
  throws(() => runPresolvedOrNot(aborted as never, 1000, true), WebAssembly.RuntimeError);
  assertEquals(aborted.runs.length, 1, "an aborted module is left to the memory guard");

  const late = model([runFailed], 1.2);
  throws(() => runPresolvedOrNot(late as never, 1000, true), /status -1/);
  assertEquals(late.runs.length, 1, "no time left: no retry");
});

// The benchmarks' --check, which their wrappers run before resetting the local database: a bad option ends
// the run there with one line, a good set passes without touching anything.
import { assert, assertEquals } from "../../../shared/testing/assert.ts";

async function check(script: string, ...args: string[]) {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--no-prompt",
      new URL(`../${script}`, import.meta.url).pathname,
      "--check",
      ...args,
    ],
    stdout: "null",
    stderr: "piped",
    // No database reachable: --check must not need one.
    env: { SUPABASE_DB_URL: "postgresql://nobody@127.0.0.1:1/none" },
  }).output();
  return { code, error: new TextDecoder().decode(stderr).trim() };
}

Deno.test("a benchmark's bad option fails its check with one line naming the option and the help", async () => {
  const cases: [string, string[], string][] = [
    ["pipeline.ts", ["--profile", "nope"], "--profile must be one of spread, crowded, overload, drop, curve"],
    ["pipeline.ts", ["--rate", "0"], "must be positive"],
    ["pipeline.ts", ["--profile", "overload", "--rates", "50,x"], "must be positive"],
    ["pipeline.ts", ["--name", "../x"], "--name is a file name"],
    ["pipeline.ts", ["--bogus"], "Unknown option '--bogus'"],
    ["db-cost.ts", ["--bookings", "0"], "--bookings must be an integer 1–1500"],
    ["db-cost.ts", ["--name", "a/b"], "--name is a file name"],
  ];
  for (const [script, args, problem] of cases) {
    const { code, error } = await check(script, ...args);
    assertEquals(code, 2, `${script} ${args.join(" ")}`);
    assertEquals(error.split("\n").length, 1, error);
    assert(error.startsWith("error: ") && error.includes(problem), error);
    assert(error.endsWith(`(see scripts/bench-${script.replace(".ts", "")} --help)`), error);
  }
});

Deno.test("good options pass the check without a database", async () => {
  assertEquals(await check("pipeline.ts", "--profile", "drop", "--dispatch", "hosted"), {
    code: 0,
    error: "",
  });
  assertEquals(await check("db-cost.ts", "--bookings", "50", "--rate", "20"), { code: 0, error: "" });
  // The overload profile measures its capacity unless --rate names it; both pass, and a bad probe rate fails.
  assertEquals(await check("pipeline.ts", "--profile", "overload"), { code: 0, error: "" });
  assertEquals(await check("pipeline.ts", "--profile", "overload", "--rate", "150"), { code: 0, error: "" });
});

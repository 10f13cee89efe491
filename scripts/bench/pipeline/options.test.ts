// The benchmarks' --check, which their wrappers run before resetting the local database: a bad option ends
// the run there with one line, a good set passes without touching anything.
import { assert, assertEquals } from "../../../shared/testing/assert.ts";

async function check(script: string, ...args: string[]) {
  return await run(script, "postgresql://nobody@127.0.0.1:1/none", "--check", ...args);
}

async function run(script: string, databaseUrl: string, ...args: string[]) {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--no-prompt",
      new URL(`../${script}`, import.meta.url).pathname,
      ...args,
    ],
    stdout: "null",
    stderr: "piped",
    // For --check, no database reachable: it must not need one.
    env: { SUPABASE_DB_URL: databaseUrl },
  }).output();
  return { code, error: new TextDecoder().decode(stderr).trim() };
}

Deno.test("a benchmark's bad option fails its check with one line naming the option and the help", async () => {
  const cases: [string, string[], string][] = [
    ["pipeline.ts", ["--profile", "nope"], "--profile must be one of spread, crowded, overload, drop, curve"],
    ["pipeline.ts", ["--rate", "0"], "must be positive"],
    ["pipeline.ts", ["--rate", "Infinity"], "at most 5000"],
    ["pipeline.ts", ["--rate", "1e9"], "at most 5000"],
    ["pipeline.ts", ["--rate", "0.001"], "at least one booking"],
    // The overload profile's probe holds each rate for 20 s, whatever --seconds says.
    ["pipeline.ts", ["--profile", "overload", "--seconds", "120", "--rates", "0.01"], "at least one booking"],
    ["pipeline.ts", ["--seconds", "1.5"], "--seconds must be an integer 1–3600"],
    ["pipeline.ts", ["--seconds", "1e9"], "--seconds must be an integer 1–3600"],
    ["pipeline.ts", ["--restaurants", "0.5"], "--restaurants must be an integer 1–1000"],
    ["pipeline.ts", ["--profile", "drop", "--bookings", "1e9"], "--bookings must be an integer 1–100000"],
    [
      "pipeline.ts",
      ["--profile", "drop", "--tables", "50"],
      "--tables must be a multiple of 20 from 20 to 1000",
    ],
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
  assertEquals(await check("pipeline.ts", "--profile", "overload", "--seconds", "1", "--rates", "0.3"), {
    code: 0,
    error: "",
  });
});

Deno.test("run without its wrapper, a benchmark given another machine's database refuses before writing to it", async () => {
  for (const script of ["pipeline.ts", "db-cost.ts"]) {
    // An unresolvable host: were the guard gone, the run would fail to connect instead of refusing.
    const { code, error } = await run(
      script,
      "postgresql://postgres:x@db.hosted.invalid:5432/postgres",
      "--bookings",
      "5",
    );
    assert(code !== 0, script);
    assert(error.includes("SUPABASE_DB_URL reaches db.hosted.invalid, not this machine"), error);
  }
});

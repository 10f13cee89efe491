// scripts/lib/env.sh: PG_PORT alone moves a stack, and an inherited DB_URL cannot point the scripts at
// another stack's database.
import { assertEquals } from "../../shared/testing/assert.ts";

const ENV_SH = new URL("./env.sh", import.meta.url).pathname;
const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const NAMES = [
  "PG_CLUSTER",
  "PG_PORT",
  "FUNCTIONS_PORT",
  "DB_URL",
  "SUPABASE_DB_URL",
  "FUNCTIONS_URL",
  "STACK_DIR",
];

async function source(env: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
  const script = `source "${ENV_SH}"; ${NAMES.map((n) => `echo "${n}=$${n}"`).join("; ")}`;
  const { code, stdout, stderr } = await new Deno.Command("bash", {
    args: ["-c", script],
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(code, 0, "env.sh sources cleanly");
  return { stdout: new TextDecoder().decode(stdout), stderr: new TextDecoder().decode(stderr) };
}

async function settings(env: Record<string, string>): Promise<Record<string, string>> {
  const { stdout } = await source(env);
  return Object.fromEntries(
    stdout.trim().split("\n").map((line) => line.split(/=(.*)/s).slice(0, 2)),
  );
}

Deno.test("without exports env.sh describes the default stack on Supabase's local ports", async () => {
  assertEquals(await settings({}), {
    PG_CLUSTER: "assignment_local",
    PG_PORT: "54322",
    FUNCTIONS_PORT: "54321",
    DB_URL: "postgresql://postgres:postgres@127.0.0.1:54322/postgres",
    SUPABASE_DB_URL: "postgresql://postgres:postgres@127.0.0.1:54322/postgres",
    FUNCTIONS_URL: "http://127.0.0.1:54321/functions/v1",
    STACK_DIR: `${ROOT}/.stack`,
  });
});

Deno.test("PG_PORT alone moves every part of the stack, even with another stack's DB_URL exported", async () => {
  const inherited = "postgresql://postgres:postgres@127.0.0.1:54322/postgres";
  assertEquals(await settings({ PG_PORT: "58322", DB_URL: inherited, SUPABASE_DB_URL: inherited }), {
    PG_CLUSTER: "assignment_local_58322",
    PG_PORT: "58322",
    FUNCTIONS_PORT: "58321",
    DB_URL: "postgresql://postgres:postgres@127.0.0.1:58322/postgres",
    SUPABASE_DB_URL: "postgresql://postgres:postgres@127.0.0.1:58322/postgres",
    FUNCTIONS_URL: "http://127.0.0.1:58321/functions/v1",
    STACK_DIR: `${ROOT}/.stack/58322`,
  });
});

Deno.test("an explicit cluster name and functions port are kept", async () => {
  const s = await settings({ PG_PORT: "55422", PG_CLUSTER: "other", FUNCTIONS_PORT: "55000" });
  assertEquals([s.PG_CLUSTER, s.FUNCTIONS_PORT, s.DB_URL], [
    "other",
    "55000",
    "postgresql://postgres:postgres@127.0.0.1:55422/postgres",
  ]);
});

// claim_stack: a stack of its own (no cluster is made; only its state directory is used), removed afterwards.
// A port of this run's own: two test runs on two stacks (PG_PORT) must not share the directory.
const PORT = String(40000 + Math.floor(Math.random() * 10000));
function claim(env: Record<string, string> = {}, then = "", envSh = ENV_SH) {
  return new Deno.Command("bash", {
    args: ["-c", `source "${envSh}"; claim_stack scripts/demo; echo claimed; ${then}`],
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", PG_PORT: PORT, ...env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes).trim();

Deno.test("one run owns a stack: another is refused while it runs, and takes over once it has ended", async () => {
  try {
    const first = claim({}, "read -r _ || true"); // holds its claim until its stdin closes
    const firstOut = first.stdout.getReader();
    assertEquals(text((await firstOut.read()).value!), "claimed");

    const second = await claim().output();
    assertEquals(second.code, 1, "a second run is refused");
    const refusal = text(second.stderr);
    assertEquals(refusal.includes(`another run is using the stack on port ${PORT}`), true, refusal);
    assertEquals(refusal.includes(`PG_PORT=${Number(PORT) + 1000} scripts/demo`), true, refusal);

    const nested = await claim({ STACK_OWNER: `${ROOT}/.stack/${PORT}` }).output();
    assertEquals(
      [nested.code, text(nested.stdout)],
      [0, "claimed"],
      "a script the owner runs shares its claim",
    );

    await first.stdin.close();
    firstOut.releaseLock();
    assertEquals((await first.output()).code, 0);
    const after = await claim().output();
    assertEquals(
      [after.code, text(after.stdout)],
      [0, "claimed"],
      "the claim of a run that has ended is taken over",
    );
  } finally {
    await Deno.remove(`${ROOT}/.stack/${PORT}`, { recursive: true }).catch(() => {});
    await Deno.remove(`/tmp/assignment-stack-claims/${PORT}`, { recursive: true }).catch(
      () => {},
    );
  }
});

Deno.test("while a run owns the stack, stopping it or its parts is refused, naming that run", async () => {
  const run = (script: string, ...args: string[]) =>
    new Deno.Command("bash", {
      args: [`${ROOT}/scripts/${script}`, ...args],
      clearEnv: true,
      env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", PG_PORT: PORT },
      stdout: "piped",
      stderr: "piped",
    }).output();
  try {
    const first = claim({}, "read -r _ || true");
    const firstOut = first.stdout.getReader();
    assertEquals(text((await firstOut.read()).value!), "claimed");
    for (
      const [script, action] of [
        ["stack", "stop"],
        ["stack", "stop-functions"],
        ["stack", "stop-worker"],
        ["db", "stop"],
        ["db", "restart"],
        ["db", "crash"],
      ]
    ) {
      const refused = await run(script, action);
      const why = text(refused.stderr);
      assertEquals(refused.code, 1, `scripts/${script} ${action}: ${why}`);
      assertEquals(
        why.includes(`scripts/${script} ${action}: another run is using the stack on port ${PORT}`),
        true,
        why,
      );
    }
    await first.stdin.close();
    firstOut.releaseLock();
    assertEquals((await first.output()).code, 0);
  } finally {
    await Deno.remove(`${ROOT}/.stack/${PORT}`, { recursive: true }).catch(() => {});
    await Deno.remove(`/tmp/assignment-stack-claims/${PORT}`, { recursive: true }).catch(() => {});
  }
});

Deno.test("a cluster the scripts did not create keeps its data directory, even with its configuration gone", async () => {
  const cluster = `not_ours_${PORT}`;
  const data = `/var/lib/postgresql/15/${cluster}`;
  await Deno.mkdir(data, { recursive: true });
  await Deno.writeTextFile(`${data}/PG_VERSION`, "15\n");
  try {
    const dropped = await new Deno.Command("bash", {
      args: [`${ROOT}/scripts/db`, "drop"],
      clearEnv: true,
      env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", PG_PORT: PORT, PG_CLUSTER: cluster },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const why = text(dropped.stderr);
    assertEquals(dropped.code, 1, why);
    assertEquals(why.includes(`cluster '${cluster}' was not created by these scripts`), true, why);
    assertEquals(Deno.readTextFileSync(`${data}/PG_VERSION`), "15\n", "its data is still there");
  } finally {
    await Deno.remove(data, { recursive: true }).catch(() => {});
    await Deno.remove(`${ROOT}/.stack/${PORT}`, { recursive: true }).catch(() => {});
    await Deno.remove(`/tmp/assignment-stack-claims/${PORT}`, { recursive: true }).catch(() => {});
  }
});

Deno.test("one run owns a stack whichever checkout it runs in: a clone's run is refused while the first runs", async () => {
  // A second checkout: a copy of the script in a folder of its own, so its ROOT and state directory differ.
  const clone = await Deno.makeTempDir();
  await Deno.mkdir(`${clone}/scripts/lib`, { recursive: true });
  await Deno.copyFile(ENV_SH, `${clone}/scripts/lib/env.sh`);
  try {
    const first = claim({}, "read -r _ || true");
    const firstOut = first.stdout.getReader();
    assertEquals(text((await firstOut.read()).value!), "claimed");

    const fromClone = await claim({}, "", `${clone}/scripts/lib/env.sh`).output();
    assertEquals(fromClone.code, 1, "a run in another checkout is refused");
    const refusal = text(fromClone.stderr);
    assertEquals(refusal.includes(`another run is using the stack on port ${PORT}`), true, refusal);
    assertEquals(
      refusal.includes(`in ${Deno.cwd()}`),
      true,
      `the refusal says where the other run is: ${refusal}`,
    );

    await first.stdin.close();
    firstOut.releaseLock();
    assertEquals((await first.output()).code, 0);
    const after = await claim({}, "", `${clone}/scripts/lib/env.sh`).output();
    assertEquals(
      [after.code, text(after.stdout)],
      [0, "claimed"],
      "and takes the stack over once the first has ended",
    );
  } finally {
    await Deno.remove(clone, { recursive: true }).catch(() => {});
    await Deno.remove(`${ROOT}/.stack/${PORT}`, { recursive: true }).catch(() => {});
    await Deno.remove(`/tmp/assignment-stack-claims/${PORT}`, { recursive: true }).catch(
      () => {},
    );
  }
});

Deno.test("an inherited database URL that is not the stack's is named as ignored, a hosted one included", async () => {
  const hosted = "postgresql://postgres.abc:secret@aws-0-eu.pooler.supabase.com:6543/postgres";
  const { stderr } = await source({ SUPABASE_DB_URL: hosted, DB_URL: hosted });
  assertEquals(stderr.trim().split("\n"), [
    "note: ignoring the inherited DB_URL; using the local cluster on port 54322 (set PG_PORT; remote tools take --db-url)",
    "note: ignoring the inherited SUPABASE_DB_URL; using the local cluster on port 54322 (set PG_PORT; remote tools take --db-url)",
  ]);
  assertEquals(
    (await settings({ SUPABASE_DB_URL: hosted })).SUPABASE_DB_URL,
    "postgresql://postgres:postgres@127.0.0.1:54322/postgres",
  );
  // The stack's own URL, exported by an outer script, is no news.
  assertEquals(
    (await source({ SUPABASE_DB_URL: "postgresql://postgres:postgres@127.0.0.1:54322/postgres" })).stderr,
    "",
  );
});

Deno.test("scripts/db never drops a cluster these scripts did not create, whatever PG_CLUSTER says", async () => {
  // A cluster of the machine's, as pg_createcluster leaves its configuration (only what drop looks at).
  const name = `not_ours_${PORT}`;
  const conf = `/etc/postgresql/15/${name}`;
  await Deno.mkdir(`${conf}/conf.d`, { recursive: true });
  await Deno.writeTextFile(`${conf}/postgresql.conf`, "port = 5432\n");
  try {
    const run = await new Deno.Command(`${ROOT}/scripts/db`, {
      args: ["drop"],
      clearEnv: true,
      env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", PG_PORT: PORT, PG_CLUSTER: name },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(run.code, 1, text(run.stderr));
    const refusal = text(run.stderr);
    assertEquals(refusal.includes(`cluster '${name}' was not created by these scripts`), true, refusal);
    assertEquals(
      await Deno.readTextFile(`${conf}/postgresql.conf`),
      "port = 5432\n",
      "its configuration is kept",
    );
  } finally {
    await Deno.remove(conf, { recursive: true }).catch(() => {});
    await Deno.remove(`${ROOT}/.stack/${PORT}`, { recursive: true }).catch(() => {});
    await Deno.remove(`/tmp/assignment-stack-claims/${PORT}`, { recursive: true }).catch(() => {});
  }
});

Deno.test("a run that resets the stack refuses before the reset when another checkout's functions hold the port", async () => {
  // Something answering at this stack's functions port, as another checkout's server left running would.
  const port = Number(PORT) - 1;
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, () => new Response("ok"));
  const env = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", PG_PORT: PORT };
  try {
    for (const script of ["demo", "test"]) {
      const run = await new Deno.Command(`${ROOT}/scripts/${script}`, {
        clearEnv: true,
        env,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const refusal = text(run.stderr);
      assertEquals(run.code, 1, refusal);
      assertEquals(refusal.includes(`port ${port} already serves edge functions`), true, refusal);
      // Refused before the reset: the stack's cluster was never made.
      assertEquals(refusal.includes("creating Postgres"), false, refusal);
      assertEquals(await exists(`/etc/postgresql/15/assignment_local_${PORT}`), false, script);
    }
  } finally {
    await server.shutdown();
    await Deno.remove(`${ROOT}/.stack/${PORT}`, { recursive: true }).catch(() => {});
    await Deno.remove(`/tmp/assignment-stack-claims/${PORT}`, { recursive: true }).catch(() => {});
  }
  const free = await new Deno.Command("bash", {
    args: ["-c", `source "${ENV_SH}"; refuse_foreign_functions; echo free`],
    clearEnv: true,
    env,
    stdout: "piped",
  }).output();
  assertEquals([free.code, text(free.stdout)], [0, "free"]);
});

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

// scripts/check-functions on small fixture repositories: it must pass a function whose imports the deploy
// uploads, and fail, naming the file, when the deploy would ship a function without a module it imports:
// a file that is only in the working tree (not committed), or one outside the project root (the CLI's
// upload skips it with a warning); and when verify_jwt is on.
import { assert, assertEquals } from "../../../shared/testing/assert.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;

async function fixture(
  files: Record<string, string>,
  untracked: Record<string, string> = {},
): Promise<string> {
  const base = await Deno.makeTempDir({ prefix: "check-functions-fixture-" });
  const repo = `${base}/project`;
  const write = async (all: Record<string, string>, root: string) => {
    for (const [path, text] of Object.entries(all)) {
      await Deno.mkdir(`${root}/${path}`.replace(/\/[^/]+$/, ""), { recursive: true });
      await Deno.writeTextFile(`${root}/${path}`, text);
    }
  };
  await write(files, repo);
  const git = (...a: string[]) =>
    new Deno.Command("git", {
      args: ["-C", repo, "-c", "user.name=fixture", "-c", "user.email=fixture@example.invalid", ...a],
      stdout: "null",
      stderr: "null",
    }).output();
  await git("init", "-q");
  await git("add", "-A");
  await git("commit", "-q", "-m", "fixture");
  await write(untracked, repo);
  return base;
}

async function check(base: string) {
  const { code, stderr } = await new Deno.Command(`${ROOT}scripts/check-functions`, {
    args: ["--repo", `${base}/project`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.remove(base, { recursive: true });
  return { code, log: new TextDecoder().decode(stderr) };
}

const config = (verifyJwt: boolean) =>
  `project_id = "fixture"\n\n[functions.hello]\nenabled = true\nverify_jwt = ${verifyJwt}\n`;
const entry = (imports: string) => `${imports}\nDeno.serve(() => new Response(greet()));\n`;

Deno.test("a function whose shared code is committed and inside the project passes", async () => {
  const { code, log } = await check(
    await fixture({
      "supabase/config.toml": config(false),
      "supabase/functions/hello/index.ts": entry('import { greet } from "../../../lib/greet.ts";'),
      "lib/greet.ts": 'import { name } from "./name.ts";\nexport const greet = (): string => `hi ${name}`;\n',
      "lib/name.ts": 'export const name = "there";\n',
    }),
  );
  assertEquals(code, 0, log);
  assert(log.includes("function hello: 3 files uploaded, type-checks and bundles"), log);
});

Deno.test("an import of a file that is not committed fails, although the working tree has it", async () => {
  const { code, log } = await check(
    await fixture({
      "supabase/config.toml": config(false),
      "supabase/functions/hello/index.ts": entry('import { greet } from "../../../lib/greet.ts";'),
      "lib/greet.ts": 'import { name } from "./name.ts";\nexport const greet = (): string => `hi ${name}`;\n',
    }, { "lib/name.ts": 'export const name = "there";\n' }),
  );
  assertEquals(code, 1, log);
  assert(log.includes("hello: imports lib/name.ts, which is not in the committed tree"), log);
});

Deno.test("an import from outside the project root fails: the deploy would skip the file", async () => {
  const base = await fixture({
    "supabase/config.toml": config(false),
    "supabase/functions/hello/index.ts": entry('import { greet } from "../../../../common/greet.ts";'),
  });
  await Deno.mkdir(`${base}/common`);
  await Deno.writeTextFile(`${base}/common/greet.ts`, 'export const greet = (): string => "hi";\n');
  const { code, log } = await check(base);
  assertEquals(code, 1, log);
  assert(
    log.includes(
      "hello: the CLI would deploy without a file: WARN: Skipping import path outside",
    ),
    log,
  );
  assert(
    log.includes(
      "hello: imports ../common/greet.ts, which is not in the committed tree",
    ),
    log,
  );
});

Deno.test("a function deployed with verify_jwt on fails: the database calls it with a secret, not a JWT", async () => {
  const { code, log } = await check(
    await fixture({
      "supabase/config.toml": config(true),
      "supabase/functions/hello/index.ts": entry('const greet = (): string => "hi";'),
    }),
  );
  assertEquals(code, 1, log);
  assert(log.includes("hello: deployed with verify_jwt=true"), log);
});

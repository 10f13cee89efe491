// Would `supabase functions deploy` ship working functions from this commit? Checked the way the deploy
// itself works, not the way Deno sees the working tree:
//   1. export the committed tree (git archive), so untracked or uncommitted files cannot make it pass;
//   2. run the real CLI's `functions deploy --use-api` on that export against a stand-in of the Management
//      API on loopback, and capture exactly what it uploads: the files its import walker collects (it
//      follows relative imports, also outside supabase/functions, e.g. shared/, but skips with a mere
//      warning anything outside the project root or missing) and the function's metadata (verify_jwt);
//   3. compare with Deno's module graph of the entry point: every local module the function needs must
//      be among the uploaded files;
//   4. type-check and bundle the uploaded files alone, without the repository's deno.json, as the hosted
//      runtime receives them.
// Usage: deno run -A scripts/deploy-check/main.ts [--repo DIR] [--rev HEAD]. Exits 1 with the reasons when a
// function would not deploy or not start.
import { parseArgs } from "node:util";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const { values: args } = parseArgs({
  options: { repo: { type: "string", default: "." }, rev: { type: "string", default: "HEAD" } },
});
const repo = resolve(args.repo!);
const work = await Deno.makeTempDir({ prefix: "deploy-check-" });
const tree = join(work, "tree");
const problems: string[] = [];
const log = (message: string) => console.error(`==> ${message}`);

async function run(cmd: string, cmdArgs: string[], options: Deno.CommandOptions = {}) {
  const output = await new Deno.Command(cmd, { args: cmdArgs, stdout: "piped", stderr: "piped", ...options })
    .output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { ok: output.success, stdout: text(output.stdout), stderr: text(output.stderr) };
}

interface Upload {
  metadata: { entrypoint_path?: string; verify_jwt?: boolean; name?: string };
  files: Map<string, Uint8Array>;
}
const uploads = new Map<string, Upload>();

// The Management API, as far as `functions deploy` of one function uses it: the multipart upload, then a
// project lookup. Everything is kept in memory for the checks below.
const api = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
  const url = new URL(request.url);
  if (request.method === "POST" && url.pathname.endsWith("/functions/deploy")) {
    const slug = url.searchParams.get("slug") ?? "";
    const form = await request.formData();
    const upload: Upload = { metadata: {}, files: new Map() };
    for (const [key, value] of form.entries()) {
      if (value instanceof File) upload.files.set(value.name, new Uint8Array(await value.arrayBuffer()));
      else if (key === "metadata") upload.metadata = JSON.parse(value);
    }
    uploads.set(slug, upload);
    return Response.json({
      id: crypto.randomUUID(),
      slug,
      name: slug,
      version: 1,
      status: "ACTIVE",
      verify_jwt: upload.metadata.verify_jwt,
      created_at: Date.now(),
      updated_at: Date.now(),
    }, { status: 201 });
  }
  return Response.json({});
});

try {
  const exported = await run("bash", [
    "-c",
    // safe.directory: a checkout owned by another user than the one running the tests (a CI container's
    // checkout, a clone run through sudo) is the repository under test, not a stranger's. pipefail: git's
    // failure (no repository, no such commit) is the one to report, not tar's success on nothing.
    'set -o pipefail; mkdir -p "$2" && git -c safe.directory="$1" -C "$1" archive --format=tar "$3" | tar -x -C "$2"',
    "-",
    repo,
    tree,
    args.rev!,
  ]);
  if (!exported.ok) throw new Error(`git archive of ${args.rev} failed: ${exported.stderr.trim()}`);

  const profile = join(work, "profile.yaml");
  const apiUrl = `http://127.0.0.1:${api.addr.port}`;
  await Deno.writeTextFile(
    profile,
    `name: deploy-check\napi_url: ${apiUrl}\ndashboard_url: ${apiUrl}\nproject_host: localhost\n`,
  );
  const slugs: string[] = [];
  for await (const entry of Deno.readDir(join(tree, "supabase/functions"))) {
    if (entry.isDirectory && !entry.name.startsWith("_")) slugs.push(entry.name);
  }
  slugs.sort();
  if (slugs.length === 0) problems.push("no functions under supabase/functions in the committed tree");

  for (const slug of slugs) {
    const deploy = await run("supabase", [
      "functions",
      "deploy",
      slug,
      "--use-api",
      "--remote=deploycheckdeploychk",
      "--yes",
      "--profile",
      profile,
      "--workdir",
      tree,
    ], {
      cwd: tree,
      env: {
        SUPABASE_ACCESS_TOKEN: `sbp_${"0".repeat(40)}`,
        SUPABASE_TELEMETRY_DISABLED: "1",
        DO_NOT_TRACK: "1",
      },
    });
    const upload = uploads.get(slug);
    if (!deploy.ok || !upload) {
      problems.push(`${slug}: supabase functions deploy failed:\n${deploy.stdout}${deploy.stderr}`.trim());
      continue;
    }
    for (const line of (deploy.stdout + deploy.stderr).split("\n")) {
      if (/Skipping import path|failed to read file|no such file/i.test(line)) {
        problems.push(`${slug}: the CLI would deploy without a file: ${line.trim()}`);
      }
    }
    if (upload.metadata.verify_jwt !== false) {
      problems.push(
        `${slug}: deployed with verify_jwt=${upload.metadata.verify_jwt}; the database calls it with the pipeline ` +
          `secret, not a JWT, so set verify_jwt = false in supabase/config.toml`,
      );
    }
    const entry = upload.metadata.entrypoint_path ?? `supabase/functions/${slug}/index.ts`;

    // What Deno needs, from the committed tree, against what the CLI uploaded.
    const info = await run("deno", ["info", "--json", "--no-config", join(tree, entry)], { cwd: tree });
    if (!info.ok) {
      problems.push(`${slug}: deno cannot resolve its imports in the committed tree:\n${info.stderr.trim()}`);
    } else {
      const graph = JSON.parse(info.stdout) as { modules: { specifier: string; error?: string }[] };
      for (const module of graph.modules) {
        if (!module.specifier.startsWith("file://")) continue;
        const path = relative(tree, fileURLToPath(module.specifier));
        if (module.error || path.startsWith("..")) {
          problems.push(
            `${slug}: imports ${path}, which is not in the committed tree${
              module.error ? "" : " (outside the project)"
            }`,
          );
        } else if (!upload.files.has(path)) {
          problems.push(`${slug}: imports ${path}, which functions deploy does not upload`);
        }
      }
    }

    // The uploaded files alone, as the hosted runtime gets them: type-check and bundle, no deno.json.
    const shipped = join(work, "uploaded", slug);
    for (const [path, bytes] of upload.files) {
      if (path.startsWith("..") || path.startsWith("/")) continue;
      await Deno.mkdir(dirname(join(shipped, path)), { recursive: true });
      await Deno.writeFile(join(shipped, path), bytes);
    }
    const check = await run("deno", ["check", "--quiet", "--no-config", join(shipped, entry)], {
      cwd: shipped,
    });
    if (!check.ok) problems.push(`${slug}: the uploaded files do not type-check:\n${check.stderr.trim()}`);
    const bundle = await run("deno", [
      "bundle",
      "--quiet",
      "--no-config",
      "--platform",
      "deno",
      "-o",
      join(work, `${slug}.js`),
      join(shipped, entry),
    ], { cwd: shipped });
    if (!bundle.ok) problems.push(`${slug}: the uploaded files do not bundle:\n${bundle.stderr.trim()}`);
    if (check.ok && bundle.ok) {
      const size = (await Deno.stat(join(work, `${slug}.js`))).size;
      log(
        `function ${slug}: ${upload.files.size} files uploaded, type-checks and bundles (${
          Math.round(size / 1024)
        } KiB)`,
      );
    }
  }
} finally {
  await api.shutdown();
  await Deno.remove(work, { recursive: true });
}

if (problems.length > 0) {
  console.error(`functions would not deploy from ${args.rev}:\n- ${problems.join("\n- ")}`);
  Deno.exit(1);
}

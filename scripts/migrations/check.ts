// Released migrations are append-only. Fails (exit 1) with one line per problem when a released file was
// changed, removed or renamed, or a new file sorts before the last released one: hosted databases record
// migrations by timestamp, so an older-looking file would be skipped there or applied out of order. And the
// releases themselves are append-only: each version of the manifest git holds must be the start of the one on
// disk, or a file and its released checksum could be changed together.
//   deno run --allow-read --allow-run=git scripts/migrations/check.ts
import {
  type Manifest,
  type MigrationFiles,
  migrationTimestamp,
  parseManifest,
  paths,
  readManifest,
  releasedMigrations,
  scanMigrations,
} from "./manifest.ts";

export function appendOnlyProblems(manifest: Manifest, files: MigrationFiles): string[] {
  const problems: string[] = [];
  const released = releasedMigrations(manifest);
  const releasedNames = new Set<string>();
  for (const m of released) {
    if (releasedNames.has(m.file)) problems.push(`${m.file} is listed in more than one release`);
    releasedNames.add(m.file);
    const sha = files.get(m.file);
    if (sha === undefined) {
      const renamedTo = [...files].find(([name, s]) => s === m.sha256 && !releasedNames.has(name))?.[0];
      problems.push(
        renamedTo
          ? `${m.file} (release ${m.release}) was renamed to ${renamedTo}`
          : `${m.file} (release ${m.release}) was removed`,
      );
    } else if (sha !== m.sha256) {
      problems.push(`${m.file} (release ${m.release}) was changed: sha256 ${sha}, released as ${m.sha256}`);
    }
  }
  const unreleased = [...files.keys()].filter((f) => !releasedNames.has(f));
  for (const f of unreleased) {
    if (migrationTimestamp(f) === null) problems.push(`${f} does not start with a 14-digit timestamp`);
  }
  const last = released.map((m) => m.file).filter((f) => migrationTimestamp(f) !== null).sort().at(-1);
  if (last) {
    const lastTimestamp = migrationTimestamp(last)!;
    for (const f of unreleased) {
      const t = migrationTimestamp(f);
      if (t !== null && t <= lastTimestamp) {
        problems.push(`${f} is not released but sorts before the last released migration ${last}`);
      }
    }
  }
  return problems;
}

/**
 * Releases that a committed version of the manifest held and the one on disk no longer holds as they were
 * (edited, re-cut, removed or moved): once committed, a release is history too.
 */
export function rewrittenReleases(
  manifest: Manifest,
  committed: readonly { readonly commit: string; readonly manifest: Manifest }[],
): string[] {
  const problems = new Map<string, string>();
  for (const { commit, manifest: then } of committed) {
    then.releases.forEach((release, i) => {
      if (problems.has(release.name)) return;
      const now = manifest.releases[i];
      if (now === undefined || JSON.stringify(now) !== JSON.stringify(release)) {
        problems.set(
          release.name,
          `release ${release.name} is not as commit ${commit.slice(0, 12)} recorded it (${
            now === undefined
              ? "gone"
              : now.name === release.name
              ? "its files or checksums changed"
              : `${now.name} is in its place`
          })`,
        );
      }
    });
  }
  return [...problems.values()];
}

/** What git holds of the manifest: every committed version (through merges too), and whether history is cut short. */
interface ManifestHistory {
  readonly versions: { commit: string; manifest: Manifest }[];
  readonly shallow: boolean;
}

/**
 * Every version of the manifest git holds, newest first; null outside a git checkout (no git, or no repository:
 * a tarball). Any other failure of git (a repository it refuses as another user's, say) is an error, never a
 * check skipped.
 */
async function manifestHistory(): Promise<ManifestHistory | null> {
  const root = new URL("../..", import.meta.url).pathname;
  const git = async (...args: string[]) => {
    const out = await new Deno.Command("git", {
      args: ["-C", root, ...args],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    if (!out.success) throw new Error(`git ${args.join(" ")} failed: ${text(out.stderr).trim()}`);
    return text(out.stdout);
  };
  try {
    await git("rev-parse", "--git-dir");
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || /not a git repository/i.test(String(e))) return null;
    throw e;
  }
  // --full-history: a merge that kept one side's manifest must not hide the other side's versions.
  const log = await git("log", "--full-history", "--format=%H", "--", "supabase/releases.json");
  const versions = [];
  for (const commit of log.split("\n").filter(Boolean)) {
    versions.push({
      commit,
      manifest: parseManifest(await git("show", `${commit}:./supabase/releases.json`)),
    });
  }
  return { versions, shallow: (await git("rev-parse", "--is-shallow-repository")).trim() === "true" };
}

if (import.meta.main) {
  const manifest = await readManifest(paths.manifest);
  const history = await manifestHistory().catch((e) => {
    console.error(
      `cannot read the releases' history, so cannot check them: ${e instanceof Error ? e.message : e}`,
    );
    Deno.exit(1);
  });
  const files = await scanMigrations(paths.migrations);
  const problems = [
    ...appendOnlyProblems(manifest, files),
    ...rewrittenReleases(manifest, history?.versions ?? []),
  ];
  if (problems.length > 0) {
    console.error("Released migrations are append-only (supabase/releases.json):");
    for (const p of problems) console.error(`  - ${p}`);
    console.error(
      "Restore released files, and the releases in supabase/releases.json, byte for byte; put every change in a new migration named after the last release.",
    );
    Deno.exit(1);
  }
  const last = manifest.releases.at(-1);
  const unreleased = files.size - releasedMigrations(manifest).length;
  console.log(
    last
      ? `migrations: append-only since release ${last.name} (${
        releasedMigrations(manifest).length
      } released files; ${
        history === null
          ? "not a git checkout: the releases' history not checked"
          : `${history.versions.length} committed versions of the releases agree${
            history.shallow ? ", as far as this shallow clone's history goes" : ""
          }`
      }); ${unreleased} not yet released, which may still change in place`
      : "migrations: nothing released yet",
  );
}

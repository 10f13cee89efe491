// Released migrations are append-only. Fails (exit 1) with one line per problem when a released file was
// changed, removed or renamed, or a new file sorts before the last released one: hosted databases record
// migrations by timestamp, so an older-looking file would be skipped there or applied out of order.
//   deno run --allow-read scripts/migrations/check.ts
import {
  type Manifest,
  type MigrationFiles,
  migrationTimestamp,
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

if (import.meta.main) {
  const manifest = await readManifest(paths.manifest);
  const problems = appendOnlyProblems(manifest, await scanMigrations(paths.migrations));
  if (problems.length > 0) {
    console.error("Released migrations are append-only (supabase/releases.json):");
    for (const p of problems) console.error(`  - ${p}`);
    console.error(
      "Restore released files byte for byte; put every change in a new migration named after the last release.",
    );
    Deno.exit(1);
  }
  const last = manifest.releases.at(-1);
  console.log(
    last
      ? `migrations: append-only since release ${last.name} (${
        releasedMigrations(manifest).length
      } released files)`
      : "migrations: nothing released yet",
  );
}

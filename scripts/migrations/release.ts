// Cuts a release: appends to supabase/releases.json every migration file no earlier release froze, or only those
// up to a timestamp (what has landed, leaving newer files to be refined until they land).
//   deno run --allow-read --allow-write scripts/migrations/release.ts <name> [<through: 14-digit timestamp>]
//   (or scripts/release-migrations)
import { appendOnlyProblems } from "./check.ts";
import {
  formatManifest,
  type Manifest,
  type MigrationFiles,
  paths,
  readManifest,
  releasedMigrations,
  scanMigrations,
} from "./manifest.ts";

export class ReleaseRefused extends Error {}

export function cutRelease(
  manifest: Manifest,
  name: string,
  files: MigrationFiles,
  through?: string,
): Manifest {
  // A name is not an option: `scripts/release-migrations --dry-run` would otherwise freeze every open file.
  if (!/^[^\s-]\S*$/.test(name)) {
    throw new ReleaseRefused(`"${name}" is not a release name (no spaces, not empty, not starting with -)`);
  }
  if (through !== undefined && !/^\d{14}$/.test(through)) {
    throw new ReleaseRefused(`"${through}" is not a migration timestamp (14 digits, e.g. 20261231050000)`);
  }
  // The last file to freeze, named by its timestamp: a mistyped one would otherwise bound nothing and freeze
  // files that have not landed yet.
  if (through !== undefined && ![...files.keys()].some((file) => file.startsWith(`${through}_`))) {
    throw new ReleaseRefused(`no migration file has the timestamp ${through}`);
  }
  if (manifest.releases.some((r) => r.name === name)) {
    throw new ReleaseRefused(`release ${name} already exists`);
  }
  const problems = appendOnlyProblems(manifest, files);
  if (problems.length > 0) {
    throw new ReleaseRefused(`the released history is broken:\n  - ${problems.join("\n  - ")}`);
  }
  const released = new Set(releasedMigrations(manifest).map((m) => m.file));
  const migrations = [...files]
    .filter(([file]) => !released.has(file) && (through === undefined || file.slice(0, 14) <= through))
    .sort(([a], [b]) => a < b ? -1 : 1)
    .map(([file, sha256]) => ({ file, sha256 }));
  if (migrations.length === 0) {
    throw new ReleaseRefused(
      `no migration files since the last release${through ? ` up to ${through}` : ""}`,
    );
  }
  return { releases: [...manifest.releases, { name, migrations }] };
}

if (import.meta.main) {
  const [name, through, ...rest] = Deno.args;
  if (name === undefined || rest.length > 0) {
    console.error("usage: scripts/release-migrations <name> [<through: 14-digit timestamp>]");
    Deno.exit(2);
  }
  try {
    const next = cutRelease(
      await readManifest(paths.manifest),
      name,
      await scanMigrations(paths.migrations),
      through,
    );
    await Deno.writeTextFile(paths.manifest, formatManifest(next));
    const files = next.releases.at(-1)!.migrations;
    console.log(
      `release ${name}: froze ${files.length} migrations (${files[0].file} … ${files.at(-1)!.file})`,
    );
  } catch (e) {
    if (!(e instanceof ReleaseRefused)) throw e;
    console.error(`refused: ${e.message}`);
    Deno.exit(1);
  }
}

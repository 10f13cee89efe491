// The upgrade test's view of the releases: their names, oldest first, and the files a database built from one
// of them has run (that release's and every earlier one's, exactly as released), written into
// <dir>/supabase/migrations (a Supabase CLI work dir). Each released file must still match its SHA-256.
//   deno run --allow-read scripts/migrations/release-files.ts --names         one name per line; none: nothing
//                                                                              released yet
//   deno run --allow-read --allow-write scripts/migrations/release-files.ts <dir> <release>
//                                                                              prints how many migrations
//                                                                              came after it
import {
  type Manifest,
  type MigrationFiles,
  paths,
  readManifest,
  type ReleasedMigration,
  releasedMigrations,
  scanMigrations,
} from "./manifest.ts";

export class ReleaseMismatch extends Error {}

export type ReleaseFiles = { name: string; files: string[]; newSince: string[] };

/** What a database built from release `name` has run, and the files on disk it has not. */
export function releaseFiles(manifest: Manifest, files: MigrationFiles, name: string): ReleaseFiles {
  const index = manifest.releases.findIndex((r) => r.name === name);
  if (index < 0) {
    const names = manifest.releases.map((r) => r.name).join(", ") || "none yet";
    throw new RangeError(`no release "${name}" in supabase/releases.json (released: ${names})`);
  }
  const released = releasedMigrations(manifest);
  const wrong = mismatches(released, files);
  if (wrong.length > 0) throw new ReleaseMismatch(wrong[0]);
  const upTo = new Set(manifest.releases.slice(0, index + 1).map((r) => r.name));
  const built = released.filter((m) => upTo.has(m.release)).map((m) => m.file);
  const builtNames = new Set(built);
  return { name, files: built, newSince: [...files.keys()].filter((f) => !builtNames.has(f)) };
}

/** Each released file the folder lacks or holds changed, described. */
export function mismatches(
  expected: readonly (ReleasedMigration & { release: string })[],
  files: MigrationFiles,
): string[] {
  return expected.flatMap((m) => {
    const sha = files.get(m.file);
    if (sha === m.sha256) return [];
    return [`${m.file} (release ${m.release}) ${sha ? "no longer matches its sha256" : "is missing"}`];
  });
}

async function releaseFilesOrExit(manifest: Manifest, dir: string, name: string): Promise<ReleaseFiles> {
  try {
    return releaseFiles(manifest, await scanMigrations(dir), name);
  } catch (e) {
    if (e instanceof ReleaseMismatch) {
      console.error(`cannot rebuild release ${name}: ${e.message} (see scripts/migrations/check.ts)`);
    } else if (e instanceof RangeError) {
      console.error(e.message);
    } else {
      throw e;
    }
    Deno.exit(1);
  }
}

if (import.meta.main) {
  const manifest = await readManifest(paths.manifest);
  const [first, second, ...rest] = Deno.args;
  if (first === "--names" && second === undefined) {
    for (const r of manifest.releases) console.log(r.name);
  } else if (first !== undefined && !first.startsWith("-") && second !== undefined && rest.length === 0) {
    const release = await releaseFilesOrExit(manifest, paths.migrations, second);
    await Deno.mkdir(`${first}/supabase/migrations`, { recursive: true });
    for (const f of release.files) {
      await Deno.copyFile(`${paths.migrations}/${f}`, `${first}/supabase/migrations/${f}`);
    }
    // The copies are what the test applies, so they are what must match the release. (Files of later
    // releases are not copied, so only this release's and earlier ones are checked here.)
    const copied = await scanMigrations(`${first}/supabase/migrations`);
    const expected = releasedMigrations(manifest).filter((m) => release.files.includes(m.file));
    const wrong = mismatches(expected, copied);
    if (copied.size !== expected.length || wrong.length > 0) {
      throw new Error(
        `${first}/supabase/migrations does not hold exactly release ${second}'s files: ${
          wrong.join("; ") || `${copied.size} files, not ${expected.length}`
        }`,
      );
    }
    console.log(release.newSince.length);
  } else {
    console.error("usage: release-files.ts --names | release-files.ts <dir> <release>");
    Deno.exit(2);
  }
}

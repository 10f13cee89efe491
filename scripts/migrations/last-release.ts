// Writes the last release's migrations, exactly as released, into <dir>/supabase/migrations (a Supabase
// CLI work dir) for the upgrade test, and prints "<release name> <migrations added since>". Prints nothing
// when nothing has been released yet. Each file must still match its released SHA-256.
//   deno run --allow-read --allow-write scripts/migrations/last-release.ts <dir>
import {
  type Manifest,
  type MigrationFiles,
  paths,
  readManifest,
  releasedMigrations,
  scanMigrations,
} from "./manifest.ts";

export class ReleaseMismatch extends Error {}

export type LastRelease = { name: string; files: string[]; newSince: string[] };

export function lastRelease(manifest: Manifest, files: MigrationFiles): LastRelease | null {
  const last = manifest.releases.at(-1);
  if (!last) return null;
  const released = releasedMigrations(manifest);
  for (const m of released) {
    const sha = files.get(m.file);
    if (sha !== m.sha256) {
      throw new ReleaseMismatch(
        `${m.file} (release ${m.release}) ${sha ? "no longer matches its sha256" : "is missing"}`,
      );
    }
  }
  const releasedNames = new Set(released.map((m) => m.file));
  return {
    name: last.name,
    files: released.map((m) => m.file),
    newSince: [...files.keys()].filter((f) => !releasedNames.has(f)),
  };
}

async function lastReleaseOrExit(manifest: Manifest, dir: string): Promise<LastRelease | null> {
  try {
    return lastRelease(manifest, await scanMigrations(dir));
  } catch (e) {
    if (!(e instanceof ReleaseMismatch)) throw e;
    console.error(`cannot rebuild the last release: ${e.message} (see scripts/migrations/check.ts)`);
    Deno.exit(1);
  }
}

if (import.meta.main) {
  const [dir, ...rest] = Deno.args;
  if (dir === undefined || rest.length > 0) {
    console.error("usage: last-release.ts <dir>");
    Deno.exit(2);
  }
  const manifest = await readManifest(paths.manifest);
  const release = await lastReleaseOrExit(manifest, paths.migrations);
  if (release) {
    await Deno.mkdir(`${dir}/supabase/migrations`, { recursive: true });
    for (const f of release.files) {
      await Deno.copyFile(`${paths.migrations}/${f}`, `${dir}/supabase/migrations/${f}`);
    }
    // The copies are what the test applies, so they are what must match the release.
    const copied = await lastReleaseOrExit(manifest, `${dir}/supabase/migrations`);
    if (copied?.newSince.length !== 0) throw new Error(`${dir} holds files the release does not list`);
    console.log(`${release.name} ${release.newSince.length}`);
  }
}

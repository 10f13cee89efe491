// The release manifest (supabase/releases.json): which migration files each release froze, with their
// SHA-256, in release order. Once released, a file is history: hosted databases have run it, so it may
// never change, vanish or be joined by an older-looking file (see check.ts).
import { z } from "zod";

const releasedMigration = z.object({
  file: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, "a lowercase hex SHA-256"),
}).strict();
const release = z.object({
  name: z.string().regex(/^\S+$/, "a name without spaces"),
  migrations: z.array(releasedMigration).min(1),
}).strict();
const manifest = z.object({ releases: z.array(release) }).strict();

export type ReleasedMigration = z.infer<typeof releasedMigration>;
export type Release = z.infer<typeof release>;
export type Manifest = z.infer<typeof manifest>;
/** The migration files on disk: file name → SHA-256 (hex). */
export type MigrationFiles = Map<string, string>;

/** What the Supabase CLI orders and records migrations by: the 14-digit timestamp that starts the name. */
export function migrationTimestamp(file: string): string | null {
  return /^(\d{14})_.*\.sql$/.exec(file)?.[1] ?? null;
}

export function parseManifest(text: string): Manifest {
  return manifest.parse(JSON.parse(text));
}

export function formatManifest(m: Manifest): string {
  return JSON.stringify(m, null, 2) + "\n";
}

/** A missing manifest means nothing has been released yet. */
export async function readManifest(path: string): Promise<Manifest> {
  try {
    return parseManifest(await Deno.readTextFile(path));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { releases: [] };
    throw e;
  }
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Every .sql file in the migrations folder, hashed byte for byte. */
export async function scanMigrations(dir: string): Promise<MigrationFiles> {
  const files: MigrationFiles = new Map();
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && entry.name.endsWith(".sql")) {
      files.set(entry.name, await sha256Hex(await Deno.readFile(`${dir}/${entry.name}`)));
    }
  }
  return new Map([...files].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0));
}

/** Each released file with the release that froze it, in release order. */
export function releasedMigrations(m: Manifest): (ReleasedMigration & { release: string })[] {
  return m.releases.flatMap((r) => r.migrations.map((x) => ({ ...x, release: r.name })));
}

/** Where the repository keeps the manifest and the migrations, relative to this file. */
export const paths = {
  manifest: new URL("../../supabase/releases.json", import.meta.url).pathname,
  migrations: new URL("../../supabase/migrations", import.meta.url).pathname,
};

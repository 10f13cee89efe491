// Manifests and migration folders for the tests: fake checksums, real rules.
import type { Manifest, MigrationFiles } from "./manifest.ts";

export const sha = (c: string) => c.repeat(64);

export const files = (entries: Record<string, string>): MigrationFiles => new Map(Object.entries(entries));

/** Release 1.0.0 froze two files; the folder still holds them unchanged. */
export const released: Manifest = {
  releases: [{
    name: "1.0.0",
    migrations: [
      { file: "20260101000000_base.sql", sha256: sha("a") },
      { file: "20260102000000_more.sql", sha256: sha("b") },
    ],
  }],
};

export const releasedFiles = {
  "20260101000000_base.sql": sha("a"),
  "20260102000000_more.sql": sha("b"),
};

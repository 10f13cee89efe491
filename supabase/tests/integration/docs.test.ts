// The README and docs/ say only what is true of this repository and its database: every relative link
// reaches a file and heading that exist, every script they name exists and is executable and takes the
// flags they pass it, and every `schema.name` they name is a function, table or view the migrations create.
import { assert } from "../../../shared/testing/assert.ts";
import { anchors, dbNames, relativeLinks, scriptMentions } from "../../../shared/testing/markdown.ts";
import { connect } from "../../../shared/testing/stack.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;
const sql = connect(1);

const pages: { path: string; text: string }[] = [
  "README.md",
  ...[...Deno.readDirSync(`${ROOT}docs`)]
    .filter((e) => e.isFile && e.name.endsWith(".md"))
    .map((e) => `docs/${e.name}`)
    .sort(),
].map((path) => ({ path, text: Deno.readTextFileSync(`${ROOT}${path}`) }));

function stat(path: string): Deno.FileInfo | null {
  try {
    return Deno.statSync(path);
  } catch {
    return null;
  }
}

/** Resolves `path` against the directory of `page` (both relative to the repository root). */
function resolve(page: string, path: string): string {
  const parts = page.split("/").slice(0, -1);
  for (const part of path.split("/")) {
    if (part === "..") parts.pop();
    else if (part !== "." && part !== "") parts.push(part);
  }
  return parts.join("/");
}

function assertNone(problems: string[], what: string) {
  assert(problems.length === 0, `${what}:\n  ${problems.join("\n  ")}`);
}

Deno.test("the docs exist and the README links every page of docs/", () => {
  const pagesLinked = new Set(
    relativeLinks(pages[0].text).map((l) => resolve("README.md", l.path)),
  );
  assert(pages.length > 1, "docs/ has no pages");
  assertNone(
    pages.slice(1).filter((p) => !pagesLinked.has(p.path)).map((p) =>
      `${p.path} is not linked from README.md`
    ),
    "pages nobody can find",
  );
});

Deno.test("every relative link in the docs reaches a file, and a heading, that exist", () => {
  const problems: string[] = [];
  let links = 0;
  for (const page of pages) {
    for (const link of relativeLinks(page.text)) {
      links++;
      const target = link.path === "" ? page.path : resolve(page.path, link.path);
      const where = `${page.path}:${link.line}`;
      if (!target || !stat(`${ROOT}${target}`)) {
        problems.push(`${where}: ${link.path} does not exist`);
      } else if (link.anchor !== null) {
        if (!target.endsWith(".md")) {
          problems.push(`${where}: #${link.anchor} on ${target}, which is not Markdown`);
        } else if (!anchors(Deno.readTextFileSync(`${ROOT}${target}`)).has(link.anchor)) {
          problems.push(`${where}: ${target} has no heading #${link.anchor}`);
        }
      }
    }
  }
  assert(links > 10, `found only ${links} links; is the link parser broken?`);
  assertNone(problems, "dead links");
});

/** The text of a script and of every TypeScript file under scripts/ it runs, where its flags are parsed. */
function scriptSources(path: string): string {
  const wrapper = Deno.readTextFileSync(`${ROOT}scripts/${path}`);
  const programs = [...wrapper.matchAll(/scripts\/[\w./-]+\.ts/g)].map((m) => m[0]);
  return [wrapper, ...programs.map((p) => stat(`${ROOT}${p}`) ? Deno.readTextFileSync(`${ROOT}${p}`) : "")]
    .join("\n");
}

Deno.test("every script the docs name exists, commands are executable and take the flags shown", () => {
  const problems: string[] = [];
  let commands = 0;
  for (const page of pages) {
    for (const m of scriptMentions(page.text)) {
      const where = `${page.path}:${m.line}`;
      const info = stat(`${ROOT}scripts/${m.path}`);
      if (!info) {
        problems.push(`${where}: scripts/${m.path} does not exist`);
        continue;
      }
      if (m.path.includes("/") || !info.isFile) continue;
      commands++;
      if (((info.mode ?? 0) & 0o111) === 0) problems.push(`${where}: scripts/${m.path} is not executable`);
      const source = m.flags.length ? scriptSources(m.path) : "";
      for (const flag of m.flags) {
        const named = new RegExp(`--${flag}(?![\\w-])|["']${flag}["']\\s*:|(?<![\\w-])${flag}\\s*:\\s*\\{`);
        if (!named.test(source)) problems.push(`${where}: scripts/${m.path} takes no --${flag}`);
      }
    }
  }
  assert(commands > 5, `found only ${commands} script commands; is the parser broken?`);
  assertNone(problems, "scripts the docs name that do not exist");
});

Deno.test("every function, table and view the docs name as schema.name exists in the database", async () => {
  // The project's own schemas always count, so a page naming one the migrations dropped still fails.
  const schemas = new Set(["ops", "public", "private"]);
  for (const { nspname } of await sql<{ nspname: string }[]>`select nspname from pg_namespace`) {
    if (!/^(pg_|information_schema$)/.test(nspname)) schemas.add(nspname);
  }
  const functions = new Set(
    (await sql<{ name: string }[]>`
      select n.nspname || '.' || p.proname as name
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace`).map((r) => r.name),
  );
  const relations = new Set(
    (await sql<{ name: string }[]>`
      select n.nspname || '.' || c.relname as name
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where c.relkind in ('r', 'p', 'v', 'm', 'f')`).map((r) => r.name),
  );
  const problems: string[] = [];
  let names = 0;
  for (const page of pages) {
    for (const n of dbNames(page.text, schemas)) {
      names++;
      const name = `${n.schema}.${n.name}`;
      if (n.call && !functions.has(name)) {
        problems.push(`${page.path}:${n.line}: no function ${name}()`);
      } else if (!n.call && !functions.has(name) && !relations.has(name)) {
        problems.push(`${page.path}:${n.line}: no table, view or function ${name}`);
      }
    }
  }
  assert(names > 20, `found only ${names} database names; is the parser broken?`);
  assertNone(problems, "database objects the docs name that do not exist");
});

// Closed when the test process ends, not by a test of its own (one that asserts nothing would count as passed).
globalThis.addEventListener("unload", () => void sql.end());

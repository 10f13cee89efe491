// Reading the project's Markdown the way GitHub renders it, for the tests that keep the docs true: the
// relative links a page has, the anchors its headings get, the scripts it tells you to run (with their
// flags) and the database objects it names as `schema.name`.

/** Something a page mentions, with the 1-based line it is on. */
export interface Mention {
  line: number;
}
export interface Link extends Mention {
  /** The file part of the target, relative to the page ("" for a link within the page). */
  path: string;
  /** The anchor without "#", or null. */
  anchor: string | null;
}
export interface ScriptMention extends Mention {
  /** The path under scripts/, e.g. "stack" or "bench/results/pipeline.md". */
  path: string;
  /** Flags written right after the command in the same code span or code line, without "--". */
  flags: string[];
}
export interface DbName extends Mention {
  schema: string;
  name: string;
  /** Written as a call, `schema.name(`: it has to be a function. */
  call: boolean;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const INLINE_CODE = /(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/g;

/** The page split into prose (fenced code blanked) and code (prose blanked); both keep every line. */
export function splitCode(text: string): { prose: string; code: string } {
  const prose: string[] = [];
  const code: string[] = [];
  let fence: string | null = null;
  for (const line of text.split("\n")) {
    const marker = line.match(FENCE)?.[1];
    if (fence === null && marker) {
      fence = marker;
      prose.push("");
      code.push("");
    } else if (fence !== null && marker && marker[0] === fence[0] && marker.length >= fence.length) {
      fence = null;
      prose.push("");
      code.push("");
    } else if (fence !== null) {
      prose.push("");
      code.push(line);
    } else {
      prose.push(line);
      code.push("");
    }
  }
  return { prose: prose.join("\n"), code: code.join("\n") };
}

function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Inline code spans blanked to the same length, so indices and line numbers still match. */
function withoutInlineCode(prose: string): string {
  return prose.replace(INLINE_CODE, (span) => span.replace(/[^\n]/g, "x"));
}

/**
 * GitHub's anchor for a heading's text: links reduced to their text, lowercased, every character that is not
 * a letter, a digit, a space, "-" or "_" dropped, each space a "-".
 */
export function slug(heading: string): string {
  return heading
    .trim()
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\s_-]/gu, "")
    .replace(/ /g, "-");
}

/** Every anchor the page's ATX headings get, a repeated one with GitHub's "-1", "-2" suffixes. */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const line of splitCode(text).prose.split("\n")) {
    const heading = line.match(/^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/)?.[1];
    if (heading === undefined) continue;
    const base = slug(heading);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

/** Relative links (inline and reference definitions) outside code; URLs with a scheme are left out. */
export function relativeLinks(text: string): Link[] {
  const prose = withoutInlineCode(splitCode(text).prose);
  const links: Link[] = [];
  const add = (target: string, index: number) => {
    const bare = target.replace(/^<|>$/g, "");
    if (/^[a-z][a-z0-9+.-]*:/i.test(bare)) return;
    const hash = bare.indexOf("#");
    links.push({
      line: lineAt(prose, index),
      path: decodeURI(hash === -1 ? bare : bare.slice(0, hash)),
      anchor: hash === -1 ? null : decodeURIComponent(bare.slice(hash + 1)),
    });
  };
  for (const m of prose.matchAll(/\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+"[^"]*")?\s*\)/g)) add(m[1], m.index);
  for (const m of prose.matchAll(/^ {0,3}\[[^\]]+\]:\s*(\S+)/gm)) add(m[1], m.index);
  return links;
}

const SCRIPT = /(?<![\w./-])(?:\.\/)?scripts\/([\w.-]+(?:\/[\w.-]+)*)/g;

/** Every `scripts/…` path the page names, in prose or code, with the flags written right after commands. */
export function scriptMentions(text: string): ScriptMention[] {
  const { prose, code } = splitCode(text);
  const mentions: ScriptMention[] = [];
  // A segment is a unit that can hold a command line: one code-block line, or one inline code span.
  const scan = (segment: string, offset: number, source: string, withFlags: boolean) => {
    for (const m of segment.matchAll(SCRIPT)) {
      const path = m[1].replace(/\.+$/, "");
      // The command's own arguments end where a shell comment, pipe or next command starts.
      const rest = segment.slice(m.index + m[0].length).split(/\s#|[|;&]/)[0];
      const flags = withFlags ? [...rest.matchAll(/(?<!\S)--([a-z][a-z0-9-]*)/g)].map((f) => f[1]) : [];
      mentions.push({ line: lineAt(source, offset + m.index), path, flags });
    }
  };
  let index = 0;
  for (const line of code.split("\n")) {
    scan(line, index, code, true);
    index += line.length + 1;
  }
  for (const m of prose.matchAll(INLINE_CODE)) scan(m[2], m.index + m[1].length, prose, true);
  scan(withoutInlineCode(prose), 0, prose, false);
  return mentions;
}

/** Every `schema.name` the page names, in prose or code, for the given schemas. */
export function dbNames(text: string, schemas: ReadonlySet<string>): DbName[] {
  const names: DbName[] = [];
  for (const m of text.matchAll(/(?<![\w.$/-])([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)(\()?/g)) {
    if (!schemas.has(m[1])) continue;
    names.push({ line: lineAt(text, m.index), schema: m[1], name: m[2], call: m[3] === "(" });
  }
  return names;
}

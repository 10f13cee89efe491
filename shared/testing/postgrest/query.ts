// The part of PostgREST's query-string grammar that supabase-js emits for simple table calls: `select=`
// with plain column names, `columns=` (the keys of a bulk insert) and horizontal filters with eq, neq,
// gt, gte, lt, lte, in and is. Anything else is refused (PGRST100) rather than half understood.

export class QueryError extends Error {}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const OPERATORS: Record<string, string> = { eq: "=", neq: "<>", gt: ">", gte: ">=", lt: "<", lte: "<=" };
/** Query parameters that are not filters; those this stand-in does not implement are refused. */
const RESERVED = new Set(["select", "columns", "order", "limit", "offset", "on_conflict"]);

export function ident(name: string): string {
  if (!IDENTIFIER.test(name)) throw new QueryError(`"${name}" is not a plain column or relation name`);
  return `"${name}"`;
}

/** `select=a,b` as a SQL select list over `source`; `*` when absent. */
export function selectList(params: URLSearchParams, source: string): string {
  const select = params.get("select") ?? "*";
  if (select === "*") return `${source}.*`;
  return select.split(",").map((c) => `${source}.${ident(c.trim())}`).join(", ");
}

/** The columns a body writes: `columns=` when given (supabase-js sends it for arrays), else the keys. */
export function bodyColumns(params: URLSearchParams, rows: Record<string, unknown>[]): string[] {
  const given = params.get("columns");
  const names = given !== null
    ? given.split(",").map((c) => c.trim().replace(/^"(.*)"$/, "$1"))
    : [...new Set(rows.flatMap((row) => Object.keys(row)))];
  names.forEach(ident);
  return names;
}

/** Filters as a WHERE condition on `source`, with their values as parameters from `$firstParam` on. */
export function filters(
  params: URLSearchParams,
  source: string,
  firstParam: number,
): { where: string; values: string[] } {
  const conditions: string[] = [];
  const values: string[] = [];
  const param = (value: string) => {
    values.push(value);
    return `$${firstParam + values.length - 1}`;
  };
  for (const [key, raw] of params) {
    if (RESERVED.has(key)) {
      if (key === "select" || key === "columns") continue;
      throw new QueryError(`"${key}" is not supported by this stand-in`);
    }
    const column = `${source}.${ident(key)}`;
    const dot = raw.indexOf(".");
    const [op, value] = dot < 0 ? [raw, ""] : [raw.slice(0, dot), raw.slice(dot + 1)];
    if (op in OPERATORS) {
      conditions.push(`${column} ${OPERATORS[op]} ${param(value)}`);
    } else if (op === "in") {
      const list = value.match(/^\((.*)\)$/);
      if (!list) throw new QueryError(`"in" takes a list in parentheses: ${raw}`);
      const items = list[1] === "" ? [] : list[1].split(",").map((v) => v.replace(/^"(.*)"$/, "$1"));
      conditions.push(items.length ? `${column} in (${items.map(param).join(", ")})` : "false");
    } else if (op === "is" && ["null", "true", "false"].includes(value)) {
      conditions.push(`${column} is ${value}`);
    } else {
      throw new QueryError(`unsupported filter ${key}=${raw}`);
    }
  }
  return { where: conditions.join(" and "), values };
}

// A stand-in for a Supabase project's Data API (its gateway and PostgREST), for tests: the local stack has
// no PostgREST (it needs Docker), but what a platform writes through supabase-js must be tested as the
// database really receives it. What it does as they do:
// - gateway: refuses a request without a known `apikey` (the project's anon or service-role key), 401;
// - PostgREST: connects as the login role `authenticator` and runs each request in one transaction
//   (read only for GET) that first sets, transaction-locally, the role from the bearer JWT (`set_config
//   ('role', …, true)`, i.e. `set local role`; no token: `anon`), `request.jwt.claims`, `request.method`,
//   `request.path` and the search path (the schema, then public and extensions). Tokens are HS256 JWTs
//   signed with a secret of this stand-in's own (`keys`, `sign`): a bad signature is 401 PGRST301, an
//   expired one 401 PGRST303, and no unsigned token is accepted;
// - schemas: `public` and `ops` are exposed; `Accept-Profile` (GET) or `Content-Profile` (writes) picks one,
//   as supabase-js `.schema()` sends them; any other is 406 PGRST106;
// - tables: GET, POST (one object or an array; `columns=`), PATCH and DELETE on `/rest/v1/<table>` with the
//   filters of ./query.ts; `Prefer: return=representation` answers the rows (`select=`), otherwise nothing;
//   `Accept: application/vnd.pgrst.object+json` (`.single()`) needs exactly one row, else 406 PGRST116 and
//   the write is rolled back; PATCH and DELETE without a filter are refused, as Supabase's pg-safeupdate does;
// - functions: `POST /rest/v1/rpc/<name>` with the body's members as named arguments, converted to the
//   declared types by Postgres (`json_to_record`), members left out taking their defaults; the result as
//   JSON (an array for a set-returning function, 204 for void); of overloads, the one whose parameters the
//   body names (every member one of its parameters, every parameter without a default given); none: 404
//   PGRST202; more than one: 300 PGRST203;
// - errors: {code, message, details, hint} with PostgREST's status for the SQLSTATE (./errors.ts).
// Not covered: embedding, ordering, ranges and counts, upserts, GET calls of functions, the schema cache
// (the catalog is read on first use of each name), RLS-specific headers.
import postgres from "postgres";
import { mintJwt, verifyJwt } from "./jwt.ts";
import { pgrstError, statusForSqlState } from "./errors.ts";
import { bodyColumns, filters, ident, QueryError, selectList } from "./query.ts";

const SCHEMAS = ["public", "ops"];
const ANON = "anon";
const SINGLE = "application/vnd.pgrst.object+json";

export interface PostgrestRequest {
  method: string;
  /** `rpc/<name>` or the table's name. */
  route: string;
  schema: string;
  role: string;
  body: unknown;
}

export interface PostgrestStandIn {
  /** The project URL, as supabase-js takes it (the client appends /rest/v1). */
  url: string;
  keys: { anon: string; serviceRole: string };
  /** A token signed with the project's secret, e.g. a user's: {sub, role: "authenticated", exp}. */
  sign(claims: Record<string, unknown>): Promise<string>;
  /** Every request that reached PostgREST, for assertions on what the client sent. */
  requests: PostgrestRequest[];
  close(): Promise<void>;
}

interface FunctionInfo {
  args: Map<string, string>;
  /** The inputs without a default, which a call must name. */
  required: Set<string>;
  returnsSet: boolean;
  returnsVoid: boolean;
}

/** Rolls a request's transaction back and answers with `response`. */
class Answer extends Error {
  constructor(readonly response: Response) {
    super("answered");
  }
}

const json = (body: string, status: number) =>
  new Response(body, { status, headers: { "content-type": "application/json; charset=utf-8" } });

export async function startPostgrest(
  authenticatorUrl: string,
  options: { max?: number } = {},
): Promise<PostgrestStandIn> {
  const sql = postgres(authenticatorUrl, { prepare: false, max: options.max ?? 8, onnotice: () => {} });
  const secret = crypto.randomUUID() + crypto.randomUUID();
  const keys = {
    anon: await mintJwt(secret, { iss: "supabase", role: "anon" }),
    serviceRole: await mintJwt(secret, { iss: "supabase", role: "service_role" }),
  };
  const requests: PostgrestRequest[] = [];
  const relations = new Map<string, boolean>();
  const functions = new Map<string, FunctionInfo[]>();

  async function relationExists(schema: string, name: string): Promise<boolean> {
    const key = `${schema}.${name}`;
    if (!relations.has(key)) {
      const rows = await sql`
        select 1 from pg_catalog.pg_class
         where relnamespace = ${schema}::regnamespace and relname = ${name} and relkind in ('r', 'v', 'm', 'p', 'f')`;
      relations.set(key, rows.length === 1);
    }
    return relations.get(key)!;
  }

  // Every function of that name (overloads included), as PostgREST's schema cache holds them.
  async function describe(schema: string, name: string): Promise<FunctionInfo[]> {
    const key = `${schema}.${name}`;
    if (!functions.has(key)) {
      const rows = await sql<
        {
          names: string[] | null;
          modes: string[] | null;
          types: string[];
          defaults: number;
          retset: boolean;
          void: boolean;
        }[]
      >`
        select p.proargnames as names, p.proargmodes::text[] as modes, p.proretset as retset,
               p.prorettype = 'void'::regtype as void, p.pronargdefaults as defaults,
               array(select pg_catalog.format_type(t, null) from unnest(p.proargtypes::oid[]) t) as types
          from pg_catalog.pg_proc p
         where p.pronamespace = ${schema}::regnamespace and p.proname = ${name} and p.prokind = 'f'`;
      functions.set(
        key,
        rows.map((row) => {
          // proargnames lists every parameter (OUT ones too, for functions returning a table); keep the inputs.
          const inputs = (row.names ?? []).filter((_, i) =>
            !row.modes || ["i", "b", "v"].includes(row.modes[i])
          );
          return {
            args: new Map(inputs.map((n, i) => [n, row.types[i]])),
            // The defaults are the last inputs'.
            required: new Set(inputs.slice(0, inputs.length - row.defaults)),
            returnsSet: row.retset,
            returnsVoid: row.void,
          };
        }),
      );
    }
    return functions.get(key)!;
  }

  /** The role and claims of a request, as PostgREST derives them from the Authorization header. */
  async function authenticate(
    header: string | null,
  ): Promise<{ role: string; claims: Record<string, unknown> } | Response> {
    if (!header) return { role: ANON, claims: { role: ANON } };
    const token = header.match(/^Bearer (.+)$/i)?.[1] ?? "";
    const verified = await verifyJwt(secret, token, Math.floor(Date.now() / 1000));
    if (!verified.ok) {
      return pgrstError(401, verified.code, verified.message, null, null, {
        "WWW-Authenticate": `Bearer error="invalid_token", error_description="${verified.message}"`,
      });
    }
    const role = typeof verified.claims.role === "string" ? verified.claims.role : ANON;
    return { role, claims: verified.claims };
  }

  async function readBody(request: Request): Promise<unknown> {
    const text = await request.text();
    if (text === "") return {};
    try {
      return JSON.parse(text);
    } catch {
      throw new Answer(pgrstError(400, "PGRST102", "Empty or invalid json"));
    }
  }

  /** One table request as SQL: the statement, its parameters and whether it answers rows. */
  function tableStatement(
    method: string,
    params: URLSearchParams,
    relation: string,
    body: unknown,
    representation: boolean,
  ): { statement: string; values: unknown[]; status: number } {
    const returning = representation ? `returning ${relation}.*` : "returning 1";
    const wrap = (write: string) =>
      representation
        ? `with pgrst_source as (${write}) select coalesce(json_agg(r), '[]')::text as body, count(*)::int as n
             from (select ${selectList(params, "pgrst_source")} from pgrst_source) r`
        : `with pgrst_source as (${write}) select null as body, count(*)::int as n from pgrst_source`;
    switch (method) {
      case "GET": {
        const { where, values } = filters(params, relation, 1);
        return {
          statement: `select coalesce(json_agg(r), '[]')::text as body, count(*)::int as n
                        from (select ${selectList(params, relation)} from ${relation}
                              ${where ? `where ${where}` : ""}) r`,
          values,
          status: 200,
        };
      }
      case "POST": {
        const rows = (Array.isArray(body) ? body : [body]) as Record<string, unknown>[];
        if (rows.some((row) => row === null || typeof row !== "object" || Array.isArray(row))) {
          throw new Answer(pgrstError(400, "PGRST102", "All object keys must match"));
        }
        const columns = bodyColumns(params, rows).map(ident).join(", ");
        return {
          statement: wrap(
            `insert into ${relation} (${columns}) select ${columns}
               from pg_catalog.jsonb_populate_recordset(null::${relation}, $1::text::jsonb) ${returning}`,
          ),
          values: [JSON.stringify(rows)],
          status: 201,
        };
      }
      case "PATCH": {
        if (body === null || typeof body !== "object" || Array.isArray(body)) {
          throw new Answer(pgrstError(400, "PGRST102", "Empty or invalid json"));
        }
        const { where, values } = filters(params, relation, 2);
        if (!where) throw new Answer(pgrstError(400, "21000", "UPDATE requires a WHERE clause"));
        const set = Object.keys(body).map((c) => `${ident(c)} = pgrst_body.${ident(c)}`).join(", ");
        return {
          statement: wrap(
            `update ${relation} set ${set}
               from (select * from pg_catalog.jsonb_populate_record(null::${relation}, $1::text::jsonb)) pgrst_body
              where ${where} ${returning}`,
          ),
          values: [JSON.stringify(body), ...values],
          status: representation ? 200 : 204,
        };
      }
      case "DELETE": {
        const { where, values } = filters(params, relation, 1);
        if (!where) throw new Answer(pgrstError(400, "21000", "DELETE requires a WHERE clause"));
        return {
          statement: wrap(`delete from ${relation} where ${where} ${returning}`),
          values,
          status: representation ? 200 : 204,
        };
      }
      default:
        throw new Answer(pgrstError(405, "PGRST117", `Unsupported HTTP method: ${method}`));
    }
  }

  async function rpcStatement(schema: string, name: string, body: unknown) {
    const args = body !== null && typeof body === "object" && !Array.isArray(body)
      ? body as Record<string, unknown>
      : null;
    const given = Object.keys(args ?? {});
    // As PostgREST chooses among overloads: by the names the body gives, never by their values' types.
    const candidates = (await describe(schema, name)).filter((f) =>
      given.every((k) => f.args.has(k)) && [...f.required].every((k) => given.includes(k))
    );
    if (!args || candidates.length === 0) {
      throw new Answer(pgrstError(
        404,
        "PGRST202",
        `Could not find the function ${schema}.${name}(${given.join(", ")}) in the schema cache`,
      ));
    }
    if (candidates.length > 1) {
      throw new Answer(pgrstError(
        300,
        "PGRST203",
        `Could not choose the best candidate function between: ${
          candidates.map((f) =>
            `${schema}.${name}(${[...f.args].map(([n, t]) => `${n} => ${t}`).join(", ")})`
          )
            .join(", ")
        }`,
      ));
    }
    const [info] = candidates;
    const call = `${ident(schema)}.${ident(name)}(${
      given.map((k) => `${ident(k)} => a.${ident(k)}`).join(", ")
    })`;
    const source = given.length
      ? `pg_catalog.json_to_record($1::text::json) as a(${
        given.map((k) => `${ident(k)} ${info.args.get(k)}`)
      })`
      : null;
    const statement = info.returnsSet
      ? `select coalesce(json_agg(r), '[]')::text as body, count(*)::int as n
           from ${source ? `${source} cross join lateral` : ""} ${call} r`
      : info.returnsVoid
      ? `select null as body, 1 as n from (select ${call} ${source ? `from ${source}` : ""}) s`
      : `select coalesce(pg_catalog.to_json(${call})::text, 'null') as body, 1 as n ${
        source ? `from ${source}` : ""
      }`;
    return {
      statement,
      values: given.length ? [JSON.stringify(args)] : [],
      status: info.returnsVoid ? 204 : 200,
    };
  }

  async function handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const match = url.pathname.match(/^\/rest\/v1\/(rpc\/)?([^/]+)$/);
    if (!match) return pgrstError(404, "PGRST125", `Invalid path specified in request URL`);
    // The gateway in front of PostgREST lets through only requests carrying one of the project's keys.
    const apikey = request.headers.get("apikey");
    if (apikey !== keys.anon && apikey !== keys.serviceRole) {
      return Response.json({ message: apikey ? "Invalid API key" : "No API key found in request" }, {
        status: 401,
      });
    }
    const auth = await authenticate(request.headers.get("authorization"));
    if (auth instanceof Response) return auth;
    const method = request.method;
    const isRpc = match[1] !== undefined;
    const name = decodeURIComponent(match[2]);
    const schema =
      (method === "GET" ? request.headers.get("accept-profile") : request.headers.get("content-profile")) ??
        SCHEMAS[0];
    if (!SCHEMAS.includes(schema)) {
      return pgrstError(406, "PGRST106", `The schema must be one of the following: ${SCHEMAS.join(", ")}`);
    }
    const prefer = request.headers.get("prefer") ?? "";
    const single = (request.headers.get("accept") ?? "").includes(SINGLE);
    try {
      const body = method === "GET" ? undefined : await readBody(request);
      requests.push({ method, route: isRpc ? `rpc/${name}` : name, schema, role: auth.role, body });
      let plan: { statement: string; values: unknown[]; status: number };
      if (isRpc) {
        if (method !== "POST") {
          return pgrstError(405, "PGRST101", "Only POST is supported for functions here");
        }
        plan = await rpcStatement(schema, name, body);
      } else {
        ident(name);
        if (!(await relationExists(schema, name))) {
          return pgrstError(
            404,
            "PGRST205",
            `Could not find the table '${schema}.${name}' in the schema cache`,
          );
        }
        const representation = method === "GET" || /\breturn=representation\b/.test(prefer);
        plan = tableStatement(
          method,
          url.searchParams,
          `${ident(schema)}.${ident(name)}`,
          body,
          representation,
        );
      }
      const [row] = await sql.begin(method === "GET" ? "read only" : "read write", async (tx) => {
        await tx.unsafe(
          `select pg_catalog.set_config('search_path', $1, true), pg_catalog.set_config('role', $2, true),
                  pg_catalog.set_config('request.jwt.claims', $3, true),
                  pg_catalog.set_config('request.method', $4, true), pg_catalog.set_config('request.path', $5, true)`,
          [
            `"${schema}", "public", "extensions"`,
            auth.role,
            JSON.stringify(auth.claims),
            method,
            url.pathname,
          ],
        );
        const rows = await tx.unsafe<{ body: string | null; n: number }[]>(
          plan.statement,
          plan.values as postgres.ParameterOrJSON<never>[],
        );
        if (single && !isRpc && rows[0].n !== 1) {
          throw new Answer(pgrstError(
            406,
            "PGRST116",
            "JSON object requested, multiple (or no) rows returned",
            `The result contains ${rows[0].n} rows`,
          ));
        }
        return rows;
      });
      if (row.body === null) return new Response(null, { status: plan.status === 200 ? 204 : plan.status });
      const payload = single && !isRpc ? JSON.stringify(JSON.parse(row.body)[0]) : row.body;
      return json(payload, plan.status);
    } catch (error) {
      if (error instanceof Answer) return error.response;
      if (error instanceof QueryError) return pgrstError(400, "PGRST100", error.message);
      if (error instanceof postgres.PostgresError) {
        const status = statusForSqlState(error.code, auth.role !== ANON);
        return pgrstError(status, error.code, error.message, error.detail ?? null, error.hint ?? null);
      }
      throw error;
    }
  }

  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, handle);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    keys,
    sign: (claims) => mintJwt(secret, claims),
    requests,
    close: async () => {
      await server.shutdown();
      await sql.end();
    },
  };
}

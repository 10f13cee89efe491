// A stand-in for PostgREST's RPC endpoint, for contract tests: the local stack has no PostgREST (it
// needs Docker), but the supabase-js store must be exercised against the real database all the same.
// For `POST /rest/v1/rpc/<name>` it does what PostgREST does: checks the key (apikey header and bearer
// token), looks the function up in `public` by name, calls it with the JSON body's members as named
// arguments cast to the declared parameter types (members left out take their defaults), in one
// transaction under `set local role service_role`, and answers the result as JSON (rows as an array of
// objects for a set-returning function) or an error as {code, message, details, hint} with PostgREST's
// status mapping. It is not PostgREST: no schema cache, no GET calls, no other endpoints.
import postgres from "postgres";

interface FunctionInfo {
  args: Map<string, string>;
  returnsSet: boolean;
}

export interface PostgrestRpc {
  url: string;
  /** Each call, for assertions on what the client sent. */
  calls: { name: string; body: Record<string, unknown> }[];
  close(): Promise<void>;
}

export function startPostgrestRpc(dbUrl: string, serviceRoleKey: string): PostgrestRpc {
  const sql = postgres(dbUrl, { prepare: false, max: 2, onnotice: () => {} });
  const calls: PostgrestRpc["calls"] = [];
  const cache = new Map<string, FunctionInfo | null>();

  async function describe(name: string): Promise<FunctionInfo | null> {
    if (cache.has(name)) return cache.get(name)!;
    const rows = await sql<
      { names: string[] | null; modes: string[] | null; types: string[]; retset: boolean }[]
    >`
      select p.proargnames as names, p.proargmodes::text[] as modes, p.proretset as retset,
             array(select pg_catalog.format_type(t, null) from unnest(p.proargtypes::oid[]) t) as types
        from pg_catalog.pg_proc p
       where p.pronamespace = 'public'::regnamespace and p.proname = ${name}`;
    if (rows.length !== 1) {
      cache.set(name, null);
      return null;
    }
    const [row] = rows;
    // proargnames lists every parameter (OUT ones too, for functions returning a table); keep the inputs.
    const inputNames = (row.names ?? []).filter((_, i) =>
      !row.modes || ["i", "b", "v"].includes(row.modes[i])
    );
    const info = { args: new Map(inputNames.map((n, i) => [n, row.types[i]])), returnsSet: row.retset };
    cache.set(name, info);
    return info;
  }

  // postgres.js learns each parameter's type from the server and serialises json itself.
  function literal(value: unknown, type: string): unknown {
    if (value === null || value === undefined) return null;
    if (type === "json" || type === "jsonb") return value;
    if (type.endsWith("[]")) {
      if (!Array.isArray(value)) throw new TypeError(`expected an array for ${type}`);
      return `{${
        value.map((v) => v === null ? "NULL" : `"${String(v).replace(/(["\\])/g, "\\$1")}"`).join(",")
      }}`;
    }
    return typeof value === "object" ? JSON.stringify(value) : String(value);
  }

  const error = (status: number, code: string, message: string, details: string | null = null, hint = null) =>
    Response.json({ code, message, details, hint }, { status });

  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (request) => {
    const path = new URL(request.url).pathname;
    const match = path.match(/^\/rest\/v1\/rpc\/([a-z_][a-z0-9_]*)$/);
    if (request.method !== "POST" || !match) return error(404, "PGRST125", `Invalid path ${path}`);
    if (
      request.headers.get("apikey") !== serviceRoleKey ||
      request.headers.get("authorization") !== `Bearer ${serviceRoleKey}`
    ) {
      return error(401, "PGRST301", "No suitable key or wrong key type");
    }
    const name = match[1];
    const body = await request.json() as Record<string, unknown>;
    calls.push({ name, body });
    const info = await describe(name);
    if (!info) {
      return error(404, "PGRST202", `Could not find the function public.${name} in the schema cache`);
    }
    const unknown = Object.keys(body).filter((k) => !info.args.has(k));
    if (unknown.length > 0) {
      return error(
        404,
        "PGRST202",
        `Could not find the function public.${name}(${Object.keys(body).join(", ")})`,
      );
    }
    const keys = Object.keys(body);
    const args = keys.map((k, i) => `${k} => $${i + 1}::${info.args.get(k)}`).join(", ");
    const call = `public.${name}(${args})`;
    const query = info.returnsSet ? `select * from ${call}` : `select ${call} as r`;
    try {
      const rows = await sql.begin(async (tx) => {
        await tx`set local role service_role`;
        return await tx.unsafe(
          query,
          keys.map((k) => literal(body[k], info.args.get(k)!)) as postgres.ParameterOrJSON<never>[],
        );
      });
      return Response.json(info.returnsSet ? [...rows] : rows[0].r);
    } catch (e) {
      if (!(e instanceof postgres.PostgresError)) throw e;
      // PostgREST: 42501 → 403 (401 for anon), 23503/23505 → 409, P0001 and unknown classes → 400.
      const status = e.code === "42501" ? 403 : ["23503", "23505"].includes(e.code) ? 409 : 400;
      return error(status, e.code, e.message, e.detail ?? null);
    }
  });

  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    calls,
    close: async () => {
      await server.shutdown();
      await sql.end();
    },
  };
}

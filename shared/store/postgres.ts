// AssignmentStore over postgres.js: direct SQL to the pooler URL Supabase gives functions
// (SUPABASE_DB_URL). No prepared statements and no session state, as transaction pooling requires.
import { postgres } from "../deps.ts";
import {
  beginResultSchema,
  claimResultSchema,
  commitResultSchema,
  failResultSchema,
  notificationSchema,
} from "./results.ts";
import { type AssignmentStore, movesJson, StoreError } from "./port.ts";

export function postgresStore(url: string, options: { max?: number } = {}): AssignmentStore {
  const sql = postgres(url, {
    prepare: false,
    max: options.max ?? 5,
    idle_timeout: 20,
    connect_timeout: 10,
    connection: { application_name: "assignment-coordinator" },
    onnotice: () => {},
  });

  async function call<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof postgres.PostgresError) throw new StoreError(error.code, error.message);
      throw error;
    }
  }

  return {
    // Named arguments, as PostgREST sends them, so both ports call the RPC the same way.
    begin: ({ bookingId, trigger, maxParallel, modeCeiling }) =>
      call(async () => {
        const [{ r }] = await sql`
          select public.assignment_begin(p_booking_id => ${bookingId}::uuid, p_trigger => ${trigger},
            p_max_parallel => ${maxParallel ?? null}::integer, p_mode_ceiling => ${
          modeCeiling ?? null
        }::text) as r`;
        return beginResultSchema.parse(r);
      }),
    commit: (a) =>
      call(async () => {
        const [{ r }] = await sql`
          select public.assignment_commit(${a.bookingId}::uuid, ${a.leaseToken}::uuid,
            ${uuidArray(a.tableIds)}::uuid[], ${a.strategy}, ${Math.round(a.durationMs)}::integer,
            ${sql.json(toJson(a.metadata))}, ${a.shadow ? sql.json(toJson(a.shadow)) : null},
            ${a.moves?.length ? sql.json(toJson(movesJson(a.moves))) : null}) as r`;
        return commitResultSchema.parse(r);
      }),
    fail: (a) =>
      call(async () => {
        const [{ r }] = await sql`
          select public.assignment_fail(${a.bookingId}::uuid, ${a.leaseToken}::uuid, ${a.kind}, ${a.reason},
            ${Math.round(a.durationMs)}::integer, ${sql.json(toJson(a.details))},
            ${a.shadow ? sql.json(toJson(a.shadow)) : null}) as r`;
        return failResultSchema.parse(r);
      }),
    claimDue: ({ limit, visibilityMs }) =>
      call(async () => {
        const [{ r }] = await sql`
          select public.assignment_claim_due(${limit}::integer, null, ${visibilityMs}::integer) as r`;
        return claimResultSchema.parse(r);
      }),
    claimNotifications: ({ limit, leaseMs }) =>
      call(async () => {
        const rows =
          await sql`select * from public.notification_claim(${limit}::integer, ${leaseMs}::integer)`;
        return rows.map((row) => notificationSchema.parse(row));
      }),
    completeNotification: ({ id, leaseToken, ok, error }) =>
      call(async () => {
        const [{ r }] = await sql`
          select public.notification_complete(${id}::bigint, ${leaseToken}::uuid, ${ok}, ${
          error ?? null
        }) as r`;
        return String(r);
      }),
    close: () => sql.end({ timeout: 5 }),
  };
}

/** Table ids are validated UUIDs, so the array literal needs no quoting. */
function uuidArray(ids: string[]): string {
  return `{${ids.join(",")}}`;
}

function toJson(value: object): postgres.JSONValue {
  return JSON.parse(JSON.stringify(value));
}

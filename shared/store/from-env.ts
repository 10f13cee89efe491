// Pick the AssignmentStore from the environment Supabase gives every function: direct SQL when
// SUPABASE_DB_URL is present (the default), PostgREST RPCs when ASSIGNMENT_DB_PORT=rest.
import type { AssignmentStore } from "./port.ts";
import { postgresStore } from "./postgres.ts";
import { supabaseRestStore } from "./supabase-rest.ts";

export function storeFromEnv(env: Record<string, string | undefined>): AssignmentStore {
  const port = env.ASSIGNMENT_DB_PORT ?? (env.SUPABASE_DB_URL ? "postgres" : "rest");
  if (port === "postgres") {
    if (!env.SUPABASE_DB_URL) throw new Error("ASSIGNMENT_DB_PORT=postgres needs SUPABASE_DB_URL");
    return postgresStore(env.SUPABASE_DB_URL);
  }
  if (port === "rest") {
    if (!env.SUPABASE_URL || !env.SUPABASE_SERVICE_ROLE_KEY) {
      throw new Error("ASSIGNMENT_DB_PORT=rest needs SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY");
    }
    return supabaseRestStore(env.SUPABASE_URL, env.SUPABASE_SERVICE_ROLE_KEY);
  }
  throw new Error(`ASSIGNMENT_DB_PORT must be "postgres" or "rest", not "${port}"`);
}

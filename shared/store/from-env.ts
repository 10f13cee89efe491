// Pick the AssignmentStore from the environment Supabase gives every function: direct SQL when
// SUPABASE_DB_URL is present (the default), PostgREST RPCs when ASSIGNMENT_DB_PORT=rest.
import type { AssignmentStore } from "./port.ts";
import { postgresStore } from "./postgres.ts";
import { supabaseRestStore } from "./supabase-rest.ts";

/** `connections`: the most database connections this instance may use (the postgres.js pool; 5 by default). */
export function storeFromEnv(env: Record<string, string | undefined>, connections?: number): AssignmentStore {
  // Blank is unset, as for every other setting (a variable left empty in the dashboard).
  const port = env.ASSIGNMENT_DB_PORT?.trim() || (env.SUPABASE_DB_URL ? "postgres" : "rest");
  if (port === "postgres") {
    if (!env.SUPABASE_DB_URL) throw new Error("ASSIGNMENT_DB_PORT=postgres needs SUPABASE_DB_URL");
    return postgresStore(env.SUPABASE_DB_URL, { max: connections });
  }
  if (port === "rest") {
    if (!env.SUPABASE_URL || !env.SUPABASE_SERVICE_ROLE_KEY) {
      throw new Error("ASSIGNMENT_DB_PORT=rest needs SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY");
    }
    return supabaseRestStore(env.SUPABASE_URL, env.SUPABASE_SERVICE_ROLE_KEY);
  }
  throw new Error(`ASSIGNMENT_DB_PORT must be "postgres" or "rest", not "${port}"`);
}

// Which store the environment picks: a blank ASSIGNMENT_DB_PORT is unset, as every other setting is.
import { assertEquals } from "../testing/assert.ts";
import { storeFromEnv } from "./from-env.ts";

const REST = { SUPABASE_URL: "http://api.local", SUPABASE_SERVICE_ROLE_KEY: "k".repeat(40) };

Deno.test("a blank ASSIGNMENT_DB_PORT is unset: the default store is picked, not a refusal to start", async () => {
  for (const blank of ["", " ", "\t"]) {
    const store = storeFromEnv({ ...REST, ASSIGNMENT_DB_PORT: blank });
    await store.close();
  }
  const refused = (() => {
    try {
      storeFromEnv({ ...REST, ASSIGNMENT_DB_PORT: "grpc" });
      return "";
    } catch (error) {
      return (error as Error).message;
    }
  })();
  assertEquals(refused, 'ASSIGNMENT_DB_PORT must be "postgres" or "rest", not "grpc"');
});

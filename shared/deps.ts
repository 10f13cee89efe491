// Third-party modules used by code that is deployed as an edge function, with full, pinned specifiers.
// Deployed functions do not see the repository's deno.json import map, so everything they import must
// resolve on its own; importing through this file keeps each version pinned in one place.
export { z } from "npm:zod@4.6.7";
export { default as postgres } from "npm:postgres@3.4.9";
export { createClient, type SupabaseClient } from "npm:@supabase/supabase-js@2.119.1";

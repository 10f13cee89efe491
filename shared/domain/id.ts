// The one schema for every id the functions parse. Postgres' uuid type accepts any 32 hex digits, in
// either case, optionally in braces and with a hyphen after any group of four; zod's z.uuid() accepts only
// RFC 4122 (and 9562) versions and variants, so a row Postgres stored with an id such as
// 11111111-1111-1111-1111-111111111111 could never be dispatched or planned. Ids are normalised to
// Postgres' output form, so one id always compares equal to itself.
import { z } from "../deps.ts";

const HEX4 = "[0-9a-fA-F]{4}";
const DIGITS = `${HEX4}(?:-?${HEX4}){7}`;
const POSTGRES_UUID = new RegExp(`^(?:${DIGITS}|\\{${DIGITS}\\})$`);

/** `message`: what a refused id is told, e.g. naming the field. */
export function idSchema(message = "must be a UUID") {
  return z.string().regex(POSTGRES_UUID, { message }).transform((text) => {
    const hex = text.replace(/[{}-]/g, "").toLowerCase();
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
      hex.slice(20)
    }`;
  });
}

// The database and the functions use one definition of personal data: the SQL pattern functions return the
// TypeScript patterns verbatim, and Postgres' regex engine and JavaScript's give the same verdict and the
// same scrubbed text on any input.
import fc from "fast-check";
import { assertEquals } from "../../../shared/testing/assert.ts";
import { connect } from "../../../shared/testing/stack.ts";
import {
  EMAIL_PATTERN,
  hasPersonalData,
  PHONE_PATTERN,
  scrub,
} from "../../../shared/telemetry/personal-data.ts";

const sql = connect(2);

Deno.test("the database's personal-data patterns are the functions' patterns", async () => {
  const [row] = await sql`select private.email_pattern() as email, private.phone_pattern() as phone`;
  assertEquals(row.email, EMAIL_PATTERN);
  assertEquals(row.phone, PHONE_PATTERN);
});

// Text made of the pieces that decide a verdict: digits, separators, @, dots, slashes, brackets, letters.
const pieces = fc.constantFrom(
  "a",
  "Z",
  "é",
  "0",
  "4",
  "9",
  "+",
  "(",
  ")",
  " ",
  ".",
  "-",
  "_",
  "@",
  "/",
  ":",
  "[",
  "]",
  "example",
  "com",
  "2030-01-07",
  "npm:@scope/pkg@1.2.3",
  "+44 20 7946 0958",
  "ada@example.com",
  "\u00a0",
  "\n",
);
const text = fc.oneof(
  fc.array(pieces, { maxLength: 24 }).map((p) => p.join("")),
  fc.string({ maxLength: 40 }),
);

Deno.test("Postgres and JavaScript agree on what is personal data and how it is scrubbed", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(text, { minLength: 1, maxLength: 50 }), async (texts) => {
      const rows = await sql<{ has: boolean; scrubbed: string }[]>`
        select private.text_has_personal_data(t) as has, private.scrub_personal_data(t) as scrubbed
          from unnest(${texts}::text[]) with ordinality as u(t, i) order by i`;
      assertEquals(rows.map((r) => r.has), texts.map(hasPersonalData));
      assertEquals(rows.map((r) => r.scrubbed), texts.map(scrub));
    }),
    { numRuns: 60 },
  );
  await sql.end();
});

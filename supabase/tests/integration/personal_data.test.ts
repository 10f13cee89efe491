// The database and the functions use one definition of personal data: the SQL pattern functions return the
// TypeScript patterns verbatim, and Postgres' regex engine and JavaScript's give the same verdict and the
// same scrubbed text on any input.
import fc from "fast-check";
import { assert, assertEquals } from "../../../shared/testing/assert.ts";
import { connect } from "../../../shared/testing/stack.ts";
import {
  CHAINED_NUMBER_PATTERN,
  DIGIT_ZEROS,
  DROPPED_MARKS,
  EMAIL_PATTERN,
  hasPersonalData,
  normalized,
  PHONE_PATTERN,
  scrub,
  scrubAndCut,
} from "../../../shared/telemetry/personal-data.ts";

const sql = connect(2);

Deno.test("the database's personal-data patterns are the functions' patterns", async () => {
  const [row] = await sql`select private.email_pattern() as email, private.phone_pattern() as phone,
                                 private.chained_number_pattern() as chained`;
  assertEquals(row.email, EMAIL_PATTERN);
  assertEquals(row.phone, PHONE_PATTERN);
  assertEquals(row.chained, CHAINED_NUMBER_PATTERN);
});

Deno.test("the database reads every script's digits and drops the marks that show nothing as the functions do", async () => {
  const [row] = await sql`select private.digit_zeros() as zeros, private.dropped_marks() as marks`;
  assertEquals(row.zeros, [...DIGIT_ZEROS]);
  assertEquals(row.marks, DROPPED_MARKS.map(([from, to]) => [from, to]));
  // Each digit of each script, each mark, and the characters either side of each, one text apiece.
  const marks = new Set(DROPPED_MARKS.flatMap(([from, to]) => range(from, to)));
  const digits = new Set(DIGIT_ZEROS.flatMap((z) => range(z, z + 9)));
  // (Neighbours NFKC changes are left out: Postgres' NFKC is of an older Unicode than the runtime's, so the two
  // differ on the newest compatibility letters, U+1CCEF's outlined Z beside the outlined digits.)
  const codePoints = [...new Set([...digits, ...marks].flatMap((cp) => [cp - 1, cp, cp + 1]))].filter((cp) =>
    digits.has(cp) || marks.has(cp) ||
    String.fromCodePoint(cp).normalize("NFKC") === String.fromCodePoint(cp)
  );
  const texts = codePoints.map((cp) => `7${String.fromCodePoint(cp)}1`);
  const rows = await sql<{ normalized: string }[]>`
    select private.personal_data_normalized(t) as normalized
      from unnest(${texts}::text[]) with ordinality as u(t, i) order by i`;
  assertEquals(rows.map((r) => r.normalized), texts.map(normalized));
  // And what they read as: a digit as its ASCII digit, a mark as nothing, anything else as NFKC has it.
  const expected = codePoints.map((cp) =>
    digits.has(cp)
      ? `7${(cp - DIGIT_ZEROS.findLast((z) => z <= cp)!) % 10}1`
      : marks.has(cp)
      ? "71"
      : `7${String.fromCodePoint(cp)}1`.normalize("NFKC")
  );
  assertEquals(rows.map((r) => r.normalized), expected);
});

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

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
  "5550 1234",
  "2030-01-07T19:00:00+00:00",
  "2030-01-07 19:00",
  "19:00:00.123456",
  "ada@example.com",
  "\u00a0",
  "\n",
  // The dashes, the minus and what shows nothing, an extension, a word with a dot, an internationalised domain.
  "\u2013",
  "\u2011",
  "\u2212",
  "\u200b",
  "\u00ad",
  "x",
  "ext.",
  "Tel.",
  "\u0440\u0444",
  "212 - 555 - 0100",
  "2030\u201301\u201307",
  "jan@example.\u0440\u0444",
  // Other scripts' digits and a direction mark.
  "\u0660\u0666\u0661\u0662",
  "\u0663\u0664\u0665\u0666",
  "\u06f7",
  "\u0968\u0966\u0969\u0966",
  "\u200e",
  "\u2067",
  "\ufe0f\u20e3",
  "\u{1ccf7}",
);
const text = fc.oneof(
  fc.array(pieces, { maxLength: 24 }).map((p) => p.join("")),
  fc.string({ maxLength: 40 }),
);

/** Any Unicode text but NUL, which Postgres' jsonb cannot hold. */
function anyText(maxLength: number) {
  return fc.string({ unit: "grapheme", maxLength }).map((t) => t.replaceAll("\0", ""));
}

// JSON documents whose keys come near the listed words (separators, case, full-width and look-alike letters,
// combining marks) and whose values are the texts above, any Unicode, numbers and nesting.
const key = fc.oneof(
  fc.constantFrom(
    "guest_name",
    "Name",
    "e-mail",
    "na_me",
    "tel",
    "hotel",
    "cancelled",
    "strategy",
    "MAİL",
    "ＮＡＭＥ",
    "\u212ael",
    "phone\u0307",
    "mobile no",
  ),
  text,
  anyText(8),
);
const leaf = fc.oneof(
  text,
  anyText(16),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
);
const { doc } = fc.letrec<{ doc: unknown; array: unknown[]; object: Record<string, unknown> }>((tie) => ({
  doc: fc.oneof({ depthSize: "small" }, leaf, tie("array"), tie("object")),
  array: fc.array(tie("doc"), { maxLength: 4 }),
  object: fc.dictionary(key, tie("doc"), { maxKeys: 5 }),
}));

Deno.test("the JSON check's fast path gives the full scan's verdict on any document", async () => {
  const seen = { flagged: 0, clean: 0 };
  await fc.assert(
    fc.asyncProperty(fc.array(doc, { minLength: 1, maxLength: 40 }), async (docs) => {
      const rows = await sql<{ fast: boolean; full: boolean }[]>`
        select private.jsonb_has_personal_data(d::jsonb) as fast, private.jsonb_personal_data_scan(d::jsonb) as full
          from unnest(${docs.map((d) => JSON.stringify(d))}::text[]) with ordinality as u(d, i) order by i`;
      assertEquals(rows.map((r) => r.fast), rows.map((r) => r.full));
      for (const r of rows) r.full ? seen.flagged++ : seen.clean++;
    }),
    { numRuns: 600 },
  );
  // Both verdicts, many times, or the property proves little.
  assert(seen.flagged > 100 && seen.clean > 100, JSON.stringify(seen));
});

// What a platform may pass as a transition's metadata: the documents above, with phone numbers and addresses
// shaped as one token, and numbers as long as phone numbers, among its keys and values.
const tokenShaped = fc.constantFrom(
  "+12125550100",
  "2125550100x12",
  "Tel.2125550100",
  "02079460958",
  "ada@example.com",
  "T12",
  "vip",
  "2030-01-07",
);
const { metadata } = fc.letrec<{ metadata: Record<string, unknown>; value: unknown; list: unknown[] }>((
  tie,
) => ({
  metadata: fc.dictionary(fc.oneof(key, tokenShaped), tie("value"), { maxKeys: 5 }),
  value: fc.oneof(
    { depthSize: "small" },
    leaf,
    tokenShaped,
    fc.maxSafeNat(),
    tie("list"),
    tie("metadata"),
  ),
  list: fc.array(tie("value"), { maxLength: 4 }),
}));

Deno.test("whatever metadata a transition's event is given, it keeps no phone number or address", async () => {
  const seen = { refused: 0, kept: 0, changed: 0 };
  await fc.assert(
    fc.asyncProperty(fc.array(metadata, { minLength: 1, maxLength: 20 }), async (docs) => {
      const given = docs.map((d) => JSON.stringify(d));
      // Written as the state machine writes it, through the events' trigger and CHECK; rolled back after.
      const rows = await sql.begin(async (tx) => {
        await tx`
          create function pg_temp.event_metadata(d jsonb) returns jsonb language plpgsql as $f$
          declare kept jsonb;
          begin
            insert into public.observability_events (source, event_type, severity, context)
            values ('assignment.state_machine', 'booking.assignment_state_transition', 'info',
                    jsonb_build_object('metadata', d))
            returning context -> 'metadata' into kept;
            return kept;
          exception when check_violation then
            return null;
          end $f$`;
        const kept = await tx<{ kept: string | null; changed: boolean }[]>`
          select m::text as kept, m is distinct from d::jsonb as changed
            from (select pg_temp.event_metadata(d::jsonb) as m, d, i
                    from unnest(${given}::text[]) with ordinality as u(d, i)) x
           order by i`;
        throw new Rollback(kept);
      }).catch((end) => {
        if (end instanceof Rollback) return end.rows;
        throw end;
      });
      for (const { kept, changed } of rows) {
        // Refused by the CHECK: strings that hold personal data, which the call refuses too.
        if (kept === null) {
          seen.refused++;
          continue;
        }
        seen.kept++;
        if (changed) seen.changed++;
        // Every key and every value, numbers as the text they are written in (a document's own entries are
        // visited one by one; String() of one with a key named toString would throw).
        const values: string[] = [];
        JSON.parse(kept, (k, v) => (values.push(k, v !== null && typeof v === "object" ? "" : String(v)), v));
        for (const v of values) assert(!hasPersonalData(v), `${v} kept in ${kept}`);
      }
    }),
    { numRuns: 200 },
  );
  // Kept, changed and refused documents, many times, or the property proves little.
  assert(seen.kept > 500 && seen.changed > 100 && seen.refused > 100, JSON.stringify(seen));
});

/** Ends a transaction, handing out what it read. */
class Rollback {
  constructor(readonly rows: { kept: string | null; changed: boolean }[]) {}
}

// Cuts land anywhere, including inside a clean run of digits that a cut turns into a phone number.
const longText = fc.array(
  fc.oneof(
    pieces,
    fc.constantFrom(
      "20261202T153000Z",
      "1234567890123456789x",
      "x".repeat(30),
      "y".repeat(100),
      "😀",
      "\u2028",
    ),
  ),
  {
    maxLength: 30,
  },
).map((p) => p.join(""));

Deno.test("a text shortened for storage fits, is clean, and is shortened alike in Postgres and JavaScript", async () => {
  let cutClean = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.tuple(longText, fc.integer({ min: 1, max: 80 })), { minLength: 1, maxLength: 30 }),
      async (cases) => {
        const rows = await sql<{ cut: string }[]>`
        select private.scrub_and_cut(t, m) as cut
          from unnest(${cases.map((c) => c[0])}::text[], ${
          cases.map((c) => c[1])
        }::int[]) with ordinality as u(t, m, i)
         order by i`;
        cases.forEach(([t, max], i) => {
          const cut = scrubAndCut(t, max);
          assertEquals(rows[i].cut, cut, JSON.stringify({ t, max }));
          assert([...cut].length <= max && !hasPersonalData(cut), JSON.stringify({ t, max, cut }));
          // The case this exists for: the plain cut of the scrubbed text would have held a phone number.
          if (hasPersonalData(scrub(t).slice(0, max))) cutClean++;
        });
      },
    ),
    { numRuns: 300 },
  );
  assert(cutClean > 20, `only ${cutClean} cuts would have made a phone number: the property proves little`);
});

// Numbers each standing alone only once the one before is replaced ("12345678+12345678+…": + and _ join
// them, where a dash or a dot would make one long number), up to forty, with other text around them.
const chain = fc.tuple(
  fc.array(pieces, { maxLength: 6 }).map((p) => p.join("")),
  fc.constantFrom("12345678", "+44 20 7946 0958", "5550 1234", "(030) 1234-5678"),
  fc.constantFrom("+", "_"),
  fc.integer({ min: 1, max: 40 }),
  fc.array(pieces, { maxLength: 6 }).map((p) => p.join("")),
).map(([before, number, join, count, after]) => before + (number + join).repeat(count) + after);

/** The passes the scrub would take without its bound: what the chains are for. */
function strictPasses(text: string): number {
  let t = normalized(text);
  for (let passes = 1;; passes++) {
    t = t.replace(new RegExp(EMAIL_PATTERN, "g"), "[email]").replace(
      new RegExp(PHONE_PATTERN, "g"),
      "[number]",
    );
    if (!hasPersonalData(t)) return passes;
  }
}

Deno.test("a chain of numbers is scrubbed clean, alike in Postgres and JavaScript, past the passes that take one each", async () => {
  let long = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(chain, { minLength: 1, maxLength: 20 }), async (texts) => {
      const rows = await sql<{ scrubbed: string }[]>`
        select private.scrub_personal_data(t) as scrubbed
          from unnest(${texts}::text[]) with ordinality as u(t, i) order by i`;
      assertEquals(rows.map((r) => r.scrubbed), texts.map(scrub));
      for (const r of rows) assert(!hasPersonalData(r.scrubbed), r.scrubbed);
      long += texts.filter((t) => strictPasses(t) > 8).length;
    }),
    {
      numRuns: 100,
      // An address right after another's end, inside one word: JavaScript must find what Postgres finds.
      examples: [[["ada@example.com+ada@example.comada@example.com12345678+"]]],
    },
  );
  // Chains that take more passes than the bound, or the bound is not what was tested.
  assert(long > 20, `only ${long} chains take more than eight passes`);
});

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

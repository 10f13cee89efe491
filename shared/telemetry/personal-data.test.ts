import { assert, assertEquals } from "../testing/assert.ts";
import { findPersonalData, hasPersonalData, scrub } from "./personal-data.ts";

// What a guest gives us, embedded the way it would reach a log line.
const GUEST_DATA = [
  "ada@example.com",
  "ada.lovelace+bookings@mail.example.co.uk",
  "müller@exämple.de",
  "+44 20 7946 0958",
  "+1 (415) 555-0132",
  "＋４４ ２０ ７９４６ ０９５８",
  "0049 30 1234567",
  // Written in groups that begin like a date, but go on as a number.
  "0045-12-34-56-78",
  "0701-23-45 67",
  // Other dashes and the minus sign, what shows nothing, an extension, Tel. before it, an internationalised
  // top-level domain.
  "212\u2013555\u20130100",
  "212\u2011555\u20110100",
  "212\u2212555\u22120100",
  "212\u200b555\u200b0100",
  "212-555-0100x12",
  "212-555-0100ext.12",
  "Tel.2125550100",
  "jan@example.\u0440\u0444",
  // Glued to a word by an em or en dash, as prose puts it.
  "Maria\u20140612345678",
  "212-555-0100\u2014ask for Maria",
  "arrives 19:30\u20140612345678",
  "room3\u20140612345678",
];

// What logs and events legitimately contain.
const NOT_PERSONAL = [
  "Download https://registry.npmjs.org/@supabase/supabase-js/-/supabase-js-2.119.1.tgz",
  "Download https://registry.npmjs.org/@supabase%2fsupabase-js",
  "npm:@supabase/supabase-js@2.119.1",
  "deno 2.9.6 (stable, release, x86_64-unknown-linux-gnu)",
  "1.0.0+20260101123456",
  "2030-01-07 19:00",
  "2030-01-07",
  "from 2030-01-07 - 2030-01-08, 2030-01-09",
  "2030\u201301\u201307 \u2013 2030\u201301\u201308",
  "2030-01-07\u20132030-01-08",
  "v1.20260101123456",
  "build 12345678-ab",
  "2030-01-07 19:00 - 2030-01-07 21:00",
  "2030-01-07 19:00\u20132030-01-07 21:00",
  "hotel.12345678",
  "2030\u201301\u201307 9:30",
  "2030-01-07 7pm",
  "2030-01-07 (19:00)",
  "rebooked (2030-01-08)",
  "2026-12-05 19:51:09,123 - 12345 - INFO",
  "GET /x 200 - 123456 bytes",
  "2030-01-07 00:00:00\u20132030-01-08",
  "2030-01-07 - 3 tables",
  "5.4.0-dev.20231215.tgz",
  "1.0.0-rc.20260101123456",
  "2026-12-01T15:10:19.123456Z",
  "booking 3f1c2b9e-8a4d-4c1e-9b7a-0d2e5f6a7b8c",
  "[email]@z.org",
  '{"score": 263.46000000000004, "ratio": -35.57142857142857}',
  "listening on http://127.0.0.1:54321/functions/v1",
];

Deno.test("a guest's e-mail address or phone number is found anywhere in a log line", () => {
  for (const value of GUEST_DATA) {
    const line = `{"level":"error","message":"failed for ${value}, retrying"}`;
    assert(hasPersonalData(line), `${value} is found`);
    assertEquals(findPersonalData(line).length, 1, `${value} is found once`);
  }
});

Deno.test("package URLs, versions, dates, timestamps, UUIDs and local URLs are not personal data", () => {
  for (const text of NOT_PERSONAL) assertEquals(findPersonalData(text), [], text);
});

Deno.test("scrubbing removes every address and number and is idempotent", () => {
  const text = `guest ${GUEST_DATA.join(" and ")}; x@y.com@z.org`;
  const once = scrub(text);
  assert(!hasPersonalData(once), once);
  assertEquals(scrub(once), once);
  for (const text of NOT_PERSONAL) assertEquals(scrub(text), text);
});

Deno.test("scrubbing leaves nothing behind: a number that stands alone only once the one before is replaced", () => {
  const text = "+44 20 7946 0958+44 20 7946 095820261202T153000Z";
  assertEquals(findPersonalData(text).length, 1, "one pass sees only the first number");
  assertEquals(scrub(text), "[number][number] 095820261202T153000Z");
  assertEquals(hasPersonalData(scrub(text)), false);
});

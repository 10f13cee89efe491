import { assert, assertEquals } from "../testing/assert.ts";
import {
  DIGIT_ZEROS,
  DROPPED_MARKS,
  findPersonalData,
  hasPersonalData,
  normalized,
  scrub,
} from "./personal-data.ts";

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
  // Other scripts' digits (Arabic-Indic, Persian, Devanagari, Bengali, Thai, Adlam), and direction marks a
  // number copied from a right-to-left page carries.
  "\u0660\u0666\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668",
  "\u06f0\u06f9\u06f1\u06f2 \u06f3\u06f4\u06f5 \u06f6\u06f7\u06f8\u06f9",
  "+\u0669\u0661 \u0669\u0668\u0667\u0666\u0665 \u0664\u0663\u0662\u0661",
  "\u0966\u096f\u096e\u096d\u096c-\u096b\u096a\u0969\u0968\u0967",
  "\u09e6\u09e7\u09e8\u09e9\u09ea\u09eb\u09ec\u09ed",
  "\u0e50\u0e58\u0e51 \u0e52\u0e53\u0e54 \u0e55\u0e56\u0e57\u0e58",
  "\u{1e950}\u{1e956}\u{1e951}\u{1e952}\u{1e953}\u{1e954}\u{1e955}\u{1e956}",
  "0612\u200e345\u200e678",
  "\u200f+33 6 12 34 56 78\u200f",
  "06\u206612\u206934\u202a56\u202c78",
  // Typed as keycap emoji, in outlined digits (which Postgres' NFKC, of an older Unicode, leaves as they are),
  // or with variation selectors and tags between the digits.
  "0\ufe0f\u20e36\ufe0f\u20e31\ufe0f\u20e32\ufe0f\u20e33\ufe0f\u20e34\ufe0f\u20e35\ufe0f\u20e36\ufe0f\u20e37\ufe0f\u20e38\ufe0f\u20e3",
  "\u{1ccf0}\u{1ccf6}\u{1ccf1}\u{1ccf2}\u{1ccf3}\u{1ccf4}\u{1ccf5}\u{1ccf6}\u{1ccf7}\u{1ccf8}",
  "0\ufe006\u034f1\u{e0031}2\u{e0100}345678",
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

Deno.test("every script's decimal digits read as ASCII ones, whatever the runtime's Unicode adds", () => {
  // The first digit of each run of ten but ASCII's, as this runtime's \p{Nd} has them: a new Unicode version's
  // digits must be added to the list (and to private.digit_zeros()).
  const zeros: number[] = [];
  for (let cp = 0x80; cp <= 0x10ffff; cp++) {
    const c = String.fromCodePoint(cp);
    if (!/\p{Nd}/u.test(c)) continue;
    let first = cp;
    while (/\p{Nd}/u.test(String.fromCodePoint(first - 1))) first--;
    if ((cp - first) % 10 === 0) zeros.push(cp);
  }
  assertEquals([...DIGIT_ZEROS], zeros);
  for (const zero of DIGIT_ZEROS) {
    const digits = [...Array(10).keys()].map((d) => String.fromCodePoint(zero + d)).join("");
    assertEquals(normalized(digits), "0123456789", zero.toString(16));
  }
});

Deno.test("a number in another script's digits or with direction marks is scrubbed to the same words", () => {
  assertEquals(
    scrub("call \u0660\u0666\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668 back"),
    "call [number] back",
  );
  assertEquals(scrub("table \u0665, party \u0666"), "table 5, party 6");
  assertEquals(scrub("\u200f+33 6 12 34 56 78\u200f"), "[number]");
  assertEquals(
    hasPersonalData("\u0661\u0669:\u0663\u0660 \u0662\u0660\u0663\u0660-\u0660\u0661-\u0660\u0667"),
    false,
  );
});

Deno.test("what shows nothing is dropped, but for the separators the phone pattern reads, whatever the runtime's Unicode adds", () => {
  const separators = [0x00ad, 0x200b, 0x200c, 0x200d, 0x2060, 0xfeff];
  const listed = DROPPED_MARKS.flatMap(([from, to]) =>
    Array.from({ length: to - from + 1 }, (_, i) => from + i)
  );
  const ignorable: number[] = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (/\p{Default_Ignorable_Code_Point}/u.test(String.fromCodePoint(cp)) && !separators.includes(cp)) {
      ignorable.push(cp);
    }
  }
  assertEquals(listed, [...ignorable, 0x20e3].sort((a, b) => a - b));
  for (const cp of listed) {
    assertEquals(normalized(`06${String.fromCodePoint(cp)}12`), "0612", cp.toString(16));
  }
  assertEquals(
    scrub(`call 0612${String.fromCodePoint(0x180b)}345${String.fromCodePoint(0x206a)}678`),
    "call [number]",
  );
});

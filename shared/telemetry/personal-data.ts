// One definition of "looks like personal data" for the whole project. The two patterns use only regex
// syntax that JavaScript and Postgres' advanced regular expressions read the same way, so the SQL
// functions `private.email_pattern()` / `private.phone_pattern()` return these exact strings (a test checks
// that) and the CHECK constraints, the SQL scrubber, the functions' log scrubber and the tests' log scans
// all agree.

// Whitespace spelled out: `\s` differs between the engines (JavaScript counts U+00A0, Postgres does not).
const SPACE = " \\t\\n\\r\\f\\v";
// Dashes: the hyphen-minus, and the hyphens, dashes and minus sign a phone's keyboard or a word processor puts
// in its place (U+2010 to U+2015, U+2212, which NFKC keeps apart from it). `\uXXXX` reads the same in both
// engines.
const DASH = "\\u2010-\\u2015\\u2212-";
// What shows nothing between two digits: soft hyphen, zero-width space, non-joiner and joiner, word joiner, BOM.
const INVISIBLE = "\\u00AD\\u200B-\\u200D\\u2060\\uFEFF";
/** What may stand between the digits of a phone number, up to two in a row ("(212) 555-0100"). */
const SEPARATOR = `[${SPACE}().${INVISIBLE}${DASH}]`;
const LOCAL_CHAR = `[^\\][${SPACE}@/:;,<>()"']`;
const DOMAIN_CHAR = `[^\\][${SPACE}@/:;,<>()"'.]`;
// What an internationalised top-level domain is written in (.рф, .中国, .ελ): the Basic Multilingual Plane from
// Latin-1's letters up to U+1FFF and from the kana on, leaving out the punctuation and symbols of U+2000 to
// U+303F (the ranges hold a few marks and signs too, which matter only after an @).
const IDN_LETTER = "\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u1FFF\\u3040-\\uD7FF";

/**
 * An e-mail address: a local part and a dotted domain ending in letters, ASCII or those of an
 * internationalised top-level domain. Neither part may contain a slash, a colon or brackets, so a URL with an
 * `@scope` path (`https://registry.npmjs.org/@supabase/….tgz`) and an already scrubbed `[email]@…` are not
 * addresses.
 */
const EMAIL_DOMAIN = `${DOMAIN_CHAR}+(?:\\.${DOMAIN_CHAR}+)*\\.[A-Za-z${IDN_LETTER}]{2,}`;
export const EMAIL_PATTERN = `${LOCAL_CHAR}+@${EMAIL_DOMAIN}`;

const DATE = `[0-9]{4}[${DASH}][0-9]{2}[${DASH}][0-9]{2}`;
// A time after a date (19:00, 9:30, 19:, (19:00), 19.00, 19h30, 7pm), as the start of how the date ends.
const TIME_AFTER = `[T ] ?\\(?[0-9]{1,2}(?::|[.hH][0-9]{2}(?![0-9])| ?[aApP][mM])`;
// How a date ends: alone, with a time after it, or in a range with another; digits that go on after it as a
// number would make it one.
const DATE_END = `(?:${TIME_AFTER}|(?!${SEPARATOR}{0,2}[0-9])|(?=${SEPARATOR}{1,2}${DATE}(?![0-9])))`;

// The words a phone number is glued to with a dot (Tel.2125550100, Ph., Fax., Mob.), in any case, as words of
// their own (not the end of hotel. or graph.).
const PHONE_WORD = "(?:[Tt][Ee][Ll]|[Pp][Hh]|[Ff][Aa][Xx]|[Mm][Oo][Bb])";
const AFTER_PHONE_WORD = `(?<=${PHONE_WORD}[.])(?<![A-Za-z0-9_]${PHONE_WORD}[.])`;

/**
 * How a phone number ends: not glued to a letter, a digit or `_` (a reference, `12345678abc`), nor followed by a
 * hyphen and more (`12345678-ab`), but an extension may follow (`x12`, `ext.12`, `ext 12`). Only the ASCII
 * hyphen glues a reference together: with another dash, as prose writes it, the number stands alone
 * (`Maria—0612345678`, `212-555-0100—ask for Maria`).
 */
const NUMBER_END = `(?!(?!(?:[xX]|[eE][xX][tT][.]?) ?[0-9])[A-Za-z0-9_]|-[A-Za-z0-9])`;

/** A start refused right after `before` where `rest` follows. */
const refusedAfter = (before: string, rest: string) => `(?:(?<!${before})|(?!${rest}))`;

/**
 * A phone number: 8 or more digits, optionally led by + or (, with at most two separators (white space, dot,
 * any dash, parentheses, characters that show nothing) between digits, standing alone as a token, or after
 * Tel., Ph., Fax. or Mob. Dates written year first with any dash, in brackets or not (2030-01-07 19:00,
 * (2030-01-07), 2030-01-07–2030-01-08; but not digits that go on after one as a number would,
 * 0045-12-34-56-78, or 2030-01-07–08), ranges of date-times (2030-01-07 19:00–2030-01-07 21:00), UUIDs,
 * version strings (2.119.1, 1.0.0+20260101123456, 5.4.0-dev.20231215), decimal numbers (263.46000000000004)
 * and booking references (`ABC-12345678`) are not phone numbers.
 */
export const PHONE_PATTERN =
  // Not inside a word, a number or a reference, nor at a date's month and day (after a year and a dash) or its
  // day (after a year, a month and their dashes) where the date ends, nor at a time's minutes (after a digit and
  // a colon, two digits); after a dot only when a phone's word is before it.
  `(?<![A-Za-z0-9_+-])` +
  refusedAfter(`[0-9]{4}[${DASH}]`, `[0-9]{2}[${DASH}][0-9]{2}${DATE_END}`) +
  refusedAfter(`[0-9]{4}[${DASH}][0-9]{2}[${DASH}]`, `[0-9]{2}${DATE_END}`) +
  `(?:(?<![0-9]:)|(?=[+(]|[0-9]{3}))` +
  `(?:(?<![.])|${AFTER_PHONE_WORD})` +
  // A date is not a number, in brackets or not.
  `(?!\\(?${DATE}${DATE_END})` +
  "(?![0-9a-fA-F]{8}-[0-9a-fA-F]{4}-)" +
  `(?![0-9]+[.][0-9]+(?![0-9]|${SEPARATOR}{1,2}[0-9]))` +
  `\\+?\\(?[0-9](?:${SEPARATOR}{0,2}[0-9]){7,}${NUMBER_END}`;

/**
 * What `scrub` also replaces after eight passes: a number that starts with + or ( right after another's last
 * digit, as in "12345678+12345678". The phone pattern's look-behind refuses that start, so a chain of such
 * numbers stands alone one number a pass and would take a pass per number over the whole text; past eight, the
 * rest go in one. Only a + or ( after a digit can start one, so no look-ahead is tried inside a run of digits,
 * which keeps the pass linear. As private.chained_number_pattern() in SQL.
 */
export const CHAINED_NUMBER_PATTERN =
  `(?<=[0-9])(?:\\+\\(?|\\()[0-9](?:${SEPARATOR}{0,2}[0-9]){7,}${NUMBER_END}`;
const PASSES_BEFORE_CHAINED = 8;

/**
 * The addresses in a text, as a global match of EMAIL_PATTERN finds them, in time linear in the text. A
 * backtracking engine running the pattern itself tries every position of a long word and reads on from each to
 * its @ or its end (a 200,000-character word took 40 s); Postgres' engine does not. A local part holds no @ and
 * none of the characters that end a word here (white space, / : ; , < > ( ) " ' [ ]), so an address is the
 * word's text from where the search stands up to an @ with at least one character before it, and then a domain
 * right after that @; from anywhere before that @ the same domain decides, so each @ is looked at once.
 */
function emailsIn(text: string): { index: number; end: number }[] {
  const found: { index: number; end: number }[] = [];
  let from = 0;
  for (let at = text.indexOf("@"); at >= 0; at = text.indexOf("@", at + 1)) {
    // The local part: back from the @ to the word's start, the search's position or the previous @.
    let start = at;
    while (start > from && !WORD_END.test(text[start - 1]) && text[start - 1] !== "@") start--;
    if (start === at) continue;
    DOMAIN_AT.lastIndex = at + 1;
    if (DOMAIN_AT.exec(text) === null) continue;
    found.push({ index: start, end: DOMAIN_AT.lastIndex });
    from = DOMAIN_AT.lastIndex;
    at = from - 1;
  }
  return found;
}
const WORD_END = new RegExp(`[\\][${SPACE}/:;,<>()"']`);
const DOMAIN_AT = new RegExp(EMAIL_DOMAIN, "y");
const replaceEmails = (text: string) => {
  let out = "";
  let last = 0;
  for (const { index, end } of emailsIn(text)) {
    out += text.slice(last, index) + "[email]";
    last = end;
  }
  return out + text.slice(last);
};
const hasEmail = (text: string) => emailsIn(text).length > 0;

const phone = new RegExp(PHONE_PATTERN);

/**
 * The decimal digits of every script but ASCII (Arabic-Indic ٠٦١٢, Persian ۰۶۱۲, Devanagari ०६१२, Thai, Bengali,
 * full-width …): an operator on such a keyboard types a phone number in them. The first of each run, as
 * Unicode 16 has them (every script's digits 0 to 9 stand in a row); a test holds the list to the runtime's.
 * Those NFKC already maps are listed too: Postgres' NFKC is of an older Unicode (15's, 14's) and leaves the
 * newer ones (outlined digits, U+1CCF0) as they are. As private.digit_zeros() in SQL.
 */
export const DIGIT_ZEROS: readonly number[] = [
  0x0660,
  0x06F0,
  0x07C0,
  0x0966,
  0x09E6,
  0x0A66,
  0x0AE6,
  0x0B66,
  0x0BE6,
  0x0C66,
  0x0CE6,
  0x0D66,
  0x0DE6,
  0x0E50,
  0x0ED0,
  0x0F20,
  0x1040,
  0x1090,
  0x17E0,
  0x1810,
  0x1946,
  0x19D0,
  0x1A80,
  0x1A90,
  0x1B50,
  0x1BB0,
  0x1C40,
  0x1C50,
  0xA620,
  0xA8D0,
  0xA900,
  0xA9D0,
  0xA9F0,
  0xAA50,
  0xABF0,
  0xFF10,
  0x104A0,
  0x10D30,
  0x10D40,
  0x11066,
  0x110F0,
  0x11136,
  0x111D0,
  0x112F0,
  0x11450,
  0x114D0,
  0x11650,
  0x116C0,
  0x116D0,
  0x116DA,
  0x11730,
  0x118E0,
  0x11950,
  0x11BF0,
  0x11C50,
  0x11D50,
  0x11DA0,
  0x11F50,
  0x16130,
  0x16A60,
  0x16AC0,
  0x16B50,
  0x16D70,
  0x1CCF0,
  0x1D7CE,
  0x1D7D8,
  0x1D7E2,
  0x1D7EC,
  0x1D7F6,
  0x1E140,
  0x1E2F0,
  0x1E4F0,
  0x1E5F1,
  0x1E950,
  0x1FBF0,
];
/**
 * What shows nothing, or only dresses the character before it, and is dropped before the patterns read a text
 * (first and last code point of each range): every default-ignorable character of Unicode 16 but the five the
 * phone pattern reads as separators (soft hyphen, zero-width space, non-joiner and joiner, word joiner; and the
 * BOM), so the direction marks a number copied from a right-to-left page carries between its groups, the
 * variation selectors, fillers, invisible operators and tags; and the keycap, with which a number is typed as
 * emoji (0️⃣6️⃣1️⃣…). A test holds the list to the runtime's. As private.dropped_marks() in SQL.
 */
export const DROPPED_MARKS: readonly (readonly [number, number])[] = [
  [0x034F, 0x034F],
  [0x061C, 0x061C],
  [0x115F, 0x1160],
  [0x17B4, 0x17B5],
  [0x180B, 0x180F],
  [0x200E, 0x200F],
  [0x202A, 0x202E],
  [0x2061, 0x206F],
  [0x20E3, 0x20E3],
  [0x3164, 0x3164],
  [0xFE00, 0xFE0F],
  [0xFFA0, 0xFFA0],
  [0xFFF0, 0xFFF8],
  [0x1BCA0, 0x1BCA3],
  [0x1D173, 0x1D17A],
  [0xE0000, 0xE0FFF],
];
const hex = (n: number) => n.toString(16);
const FOREIGN_DIGIT_OR_MARK = new RegExp(
  `[${
    [...DIGIT_ZEROS.map((z) => [z, z + 9]), ...DROPPED_MARKS].map(([from, to]) =>
      `\\u{${hex(from)}}-\\u{${hex(to)}}`
    )
      .join("")
  }]`,
  "gu",
);
const DIGIT_VALUE = new Map(DIGIT_ZEROS.flatMap((z) => [...Array(10).keys()].map((d) => [z + d, String(d)])));

/**
 * Text as the patterns read it: compatibility forms (full-width digits, ligatures …) as what they are (NFKC,
 * as in Postgres), every script's digits as ASCII ones, and none of the dropped marks. As
 * private.personal_data_normalized in SQL.
 */
export const normalized = (text: string) =>
  text.normalize("NFKC").replace(FOREIGN_DIGIT_OR_MARK, (c) => DIGIT_VALUE.get(c.codePointAt(0)!) ?? "");

/** True when free text carries an e-mail address or a phone number. */
export function hasPersonalData(text: string): boolean {
  return hasEmail(normalized(text)) || phone.test(normalized(text));
}

/**
 * Free text with e-mail addresses replaced by [email] and phone numbers by [number], until none is left: a
 * number right after another ("…0958+44 20 7946…") stands alone only once the first is replaced. As
 * private.scrub_personal_data in SQL.
 */
export function scrub(text: string): string {
  let t = normalized(text);
  for (let passes = 1;; passes++) {
    t = replaceEmails(t).replace(
      new RegExp(PHONE_PATTERN, "g"),
      "[number]",
    );
    if (!hasPersonalData(t)) return t;
    if (passes === PASSES_BEFORE_CHAINED) t = t.replace(new RegExp(CHAINED_NUMBER_PATTERN, "g"), "[number]");
  }
}

/**
 * `scrub(text)` shortened to at most `max` characters (code points, as Postgres counts them) by dropping whole
 * words from the end, or cutting inside a word only when it alone is longer, and scrubbed again after each
 * cut: a cut can leave a run of digits that reads as a phone number ("build 20261202T1530" cut after the
 * date). The twin of private.scrub_and_cut in SQL.
 */
export function scrubAndCut(text: string, max: number): string {
  let t = scrub(text);
  while ([...t].length > max) {
    const head = [...t].slice(0, max).join("");
    const cut = head.replace(LAST_WORD, "");
    t = scrub(cut === "" ? head : cut);
  }
  return t;
}
const LAST_WORD = new RegExp(`[${SPACE}]*[^${SPACE}]*$`);

/** What a scan of a log or document found: which kind of personal data, and where. */
export interface Finding {
  kind: "email" | "phone";
  match: string;
}

export function findPersonalData(raw: string): Finding[] {
  const text = normalized(raw);
  return [
    ...emailsIn(text).map(({ index, end }) => ({ kind: "email" as const, match: text.slice(index, end) })),
    ...[...text.matchAll(new RegExp(PHONE_PATTERN, "g"))].map((m) => ({
      kind: "phone" as const,
      match: m[0],
    })),
  ];
}

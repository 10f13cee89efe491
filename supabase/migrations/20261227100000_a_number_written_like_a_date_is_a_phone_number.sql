-- A phone number written in groups that begin like a date is still a phone number.
--
-- A review of the personal-data checks found that the phone pattern never started a match at four digits, a
-- dash, two digits, a dash and two digits, so that dates and time stamps are not numbers, and so it passed
-- 0045-12-34-56-78 and 0701-23-45 67 (numbers written so in some countries) in reasons, actors and metadata,
-- through the CHECKs and the scrubbing alike. Now such a start is left alone only when the date ends there, or
-- a time follows it (2030-01-07, 2030-01-07 19:00, 2030-01-07T19:00:00Z); digits that go on after it as a
-- number would make it one. shared/telemetry/personal-data.ts PHONE_PATTERN is its twin (a test compares them).
--
-- The JSON check's fast path (20261207000000) still holds: the whole date and time-stamp values it leaves out
-- of its look are each a date that ends there or is followed by a time, which the pattern still never starts
-- a match at, and the rest of its argument does not depend on the date's look-ahead.
create or replace function private.phone_pattern()
returns text language plpgsql immutable set search_path = '' as $$
begin
  return '(?<![A-Za-z0-9_.+-])(?![0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:|(?![ \t\n\r\f\v().-]{0,2}[0-9])))(?![0-9a-fA-F]{8}-[0-9a-fA-F]{4}-)(?![0-9]+[.][0-9]+(?![0-9]|[ \t\n\r\f\v().-]{1,2}[0-9]))\+?\(?[0-9](?:[ \t\n\r\f\v().-]{0,2}[0-9]){7,}(?![A-Za-z0-9_]|-[A-Za-z0-9])';
end $$;

-- A reason already stored that the pattern now calls personal data would make every later UPDATE of its
-- booking fail the CHECK (a platform's own change to a booking in review): it is scrubbed now, as it would
-- have been when written. Only bookings in review keep a reason.
update public.bookings set manual_review_reason = private.scrub_personal_data(manual_review_reason)
 where manual_review_reason is not null and private.text_has_personal_data(manual_review_reason);

revoke all on all routines in schema private from public, anon, authenticated;

-- A party smaller than every table's minimum goes to review at once, saying so.
--
-- A review of the engine against the rules Postgres enforces found that the start of an attempt screened out
-- a party above every arrangement (party_too_large) but not one below every table's minimum: a couple at a
-- restaurant whose tables all take four or more passed it, and every attempt found no_table_fits (a table's
-- minimum is no reason to join another, so no combination seats it either) until its retries ran out and it
-- went to review as no_table_fits, which reads as a full room. It now goes to review at its first attempt as
-- party_too_small, naming the smallest minimum; an operator lowers a table's minimum and retries it.
-- Body as in 20261201101100, with that check (read in the same query as the largest table).

insert into private.reason_codes (code, meaning)
values ('party_too_small', 'the party is smaller than every table''s minimum party size');

create or replace function private.capacity_problem(b public.bookings, p_max_tables integer)
returns text language plpgsql stable set search_path = '' as $$
declare
  problem text;
  largest_single integer;
  smallest_minimum integer;
  largest_combination integer;
begin
  if not exists (select 1 from private.usable_tables(b.restaurant_id)) then
    return 'no_tables_configured: the restaurant has no active, in-service tables';
  end if;
  problem := private.service_hours_problem(b);
  if problem is not null then
    return problem;
  end if;

  select max(t.max_party_size), min(t.min_party_size) into largest_single, smallest_minimum
    from private.usable_tables(b.restaurant_id) t;
  if b.party_size < smallest_minimum then
    return pg_catalog.format('party_too_small: a party of %s is smaller than every table''s minimum (the smallest takes %s): lower a table''s minimum, then ops.retry_booking',
      b.party_size, smallest_minimum);
  end if;
  if b.party_size <= largest_single then
    return null;
  end if;
  if p_max_tables >= 2 then
    largest_combination := private.largest_combination(b.restaurant_id, p_max_tables, b.party_size);
  end if;
  if b.party_size > greatest(largest_single, coalesce(largest_combination, 0)) then
    return pg_catalog.format('party_too_large: a party of %s exceeds the largest possible arrangement (%s seats)',
      b.party_size, greatest(largest_single, coalesce(largest_combination, 0)));
  end if;
  return null;
end $$;

revoke all on all routines in schema private from public, anon, authenticated;

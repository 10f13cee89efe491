-- A booking whose stay is over is not planned. Nothing checked a stay against the clock before planning it, so a
-- booking sent back after its visit was seated at a time gone by and its guest sent a confirmation after the
-- fact: a confirmed booking whose party size or buffers a platform corrected after the visit (its status never
-- moved to completed), one stuck through its whole visit that an operator released (ops.release_stuck), one
-- whose lease ran out to the sweeper, or one a platform inserted for a visit that has already ended (a start
-- up to a day back is accepted). Where the lease verifies a booking (as it comes in, and again just before an
-- attempt begins), a stay that has ended goes to manual review as stay_over, whatever else: no tables are held
-- and no guest is told. A stay under way is still planned (the guest may be at the door), as ops.retry_booking
-- still sends one (20261231420000).
-- private.capacity_problem: as in 20261231390000, with the check first.

insert into private.reason_codes (code, meaning)
values ('stay_over', 'the stay had ended before it could be planned');

create or replace function private.capacity_problem(b public.bookings, p_max_tables integer)
returns text language plpgsql set search_path = '' as $$
declare
  problem text;
  largest_single integer;
  smallest_minimum integer;
  largest_combination integer;
begin
  if b.end_at <= pg_catalog.now() then
    return pg_catalog.format('stay_over: the stay ended at %s UTC before it could be planned: no table is held and the guest is not told; cancel the booking, or change its time and retry it',
      pg_catalog.to_char(b.end_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI'));
  end if;
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
    largest_combination := private.largest_combination_kept(b.restaurant_id, p_max_tables);
  end if;
  if b.party_size > greatest(largest_single, coalesce(largest_combination, 0)) then
    return pg_catalog.format('party_too_large: a party of %s exceeds the largest possible arrangement (%s seats)',
      b.party_size, greatest(largest_single, coalesce(largest_combination, 0)));
  end if;
  return null;
end $$;


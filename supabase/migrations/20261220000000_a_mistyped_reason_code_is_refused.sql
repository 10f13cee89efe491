-- A reason code no booking in review carries, and that is none of the pipeline's, is refused.
--
-- ops.retry_bookings took any code that looked like one: a typo ('circuit_opn') matched nothing and answered
-- {queued: 0, busy: 0, left: 0}, which reads as "the incident's backlog is cleared" while every circuit_open
-- booking stayed in review. A platform's own code (the first word of a reason it wrote) still works while a
-- booking in review carries it; a code of the pipeline's that nothing carries now answers zeros, as before.
-- The error names the pipeline's codes in review in scope (never a platform's words, which may be personal).
-- Body as in 20261210020000, with that check added.

create or replace function ops.retry_bookings(p_reason_code text, p_actor text, p_since timestamptz,
                                              p_restaurant_id uuid default null, p_limit integer default 500)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  r public.bookings;
  queued integer := 0;
  busy integer := 0;
  left_over integer;
begin
  perform private.act_as(p_actor);
  if coalesce(pg_catalog.btrim(p_reason_code), '') = '' or p_reason_code !~ '^[a-z_]{1,64}$' then
    raise exception using errcode = 'AS005',
      message = 'name the reason code to retry, as ops.manual_review_queue() shows it (e.g. circuit_open)';
  end if;
  if p_limit is null or p_limit not between 1 and 1000 then
    raise exception using errcode = 'AS005', message = 'p_limit must be between 1 and 1000';
  end if;
  if p_since is null then
    raise exception using errcode = 'AS005', message = 'say since when: p_since, e.g. now() - interval ''2 hours''';
  end if;
  if p_restaurant_id is not null and not exists (select 1 from public.restaurants where id = p_restaurant_id) then
    raise exception using errcode = 'AS005', message = pg_catalog.format('restaurant %s does not exist', p_restaurant_id);
  end if;
  if not exists (select 1 from private.reason_codes c where c.code = p_reason_code)
     and not exists (select 1 from public.bookings b
                      where b.assignment_state = 'manual_review'
                        and pg_catalog.split_part(b.manual_review_reason, ':', 1) = p_reason_code
                        and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)) then
    raise exception using errcode = 'AS005',
      message = pg_catalog.format('no booking in review has the reason code %s, and it is not one of the pipeline''s',
                                  p_reason_code),
      hint = coalesce('The pipeline''s codes in review now: ' || (
                        select pg_catalog.string_agg(distinct c.code, ', ' order by c.code)
                          from public.bookings b
                          join private.reason_codes c on c.code = pg_catalog.split_part(b.manual_review_reason, ':', 1)
                         where b.assignment_state = 'manual_review'
                           and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)) || '.',
                      'No booking of the pipeline''s is in review.');
  end if;
  for r in select b.* from public.bookings b
            where b.assignment_state = 'manual_review'
              and pg_catalog.split_part(b.manual_review_reason, ':', 1) = p_reason_code
              and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)
              and b.start_at > pg_catalog.now()
              and b.status not in ('checked_in', 'completed', 'no_show')
              and (select max(h.created_at) from public.booking_assignment_state_history h
                    where h.booking_id = b.id and h.to_state = 'manual_review') >= p_since
            order by b.start_at
            limit p_limit
            for update of b skip locked loop
    -- An operator acting on the booking right now keeps it. The lock lasts to the end of the call, released
    -- on commit or rollback alike; p_limit keeps their number well inside the lock table that every begin
    -- and commit needs.
    if not pg_catalog.pg_try_advisory_xact_lock(private.lock_key('booking', r.id)) then
      busy := busy + 1;
      continue;
    end if;
    perform private.apply_assignment_transition(r.id, 'assignment_pending', r.assignment_state_version,
      'ops_retry: sent back to automatic assignment with others of ' || p_reason_code, '{}'::jsonb, p_actor);
    queued := queued + 1;
  end loop;
  -- Left in review (beyond the limit, held by an operator, or locked by another call): call again.
  select count(*) into left_over from public.bookings b
   where b.assignment_state = 'manual_review'
     and pg_catalog.split_part(b.manual_review_reason, ':', 1) = p_reason_code
     and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)
     and b.start_at > pg_catalog.now()
     and b.status not in ('checked_in', 'completed', 'no_show')
     and (select max(h.created_at) from public.booking_assignment_state_history h
           where h.booking_id = b.id and h.to_state = 'manual_review') >= p_since;
  perform private.record_event('assignment.ops', 'ops.bookings_retried', 'info',
    -- A code of the pipeline's by name; one a platform wrote in its own reason is its words: free_text.
    pg_catalog.jsonb_build_object('reason_code', coalesce(private.reason_for_event(p_reason_code) ->> 'reason', 'free_text'),
                                  'queued', queued, 'busy', busy, 'left', left_over),
    p_restaurant_id, null);
  return pg_catalog.jsonb_build_object('queued', queued, 'busy', busy, 'left', left_over);
end $$;


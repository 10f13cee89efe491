-- A floor plan written back as it was plans no review again.
--
-- A change to a floor plan that may seat more (a table added or back in service, a pair joined, service hours
-- added or widened, the time zone changed) sends back to be planned every review ahead that is the engine's
-- verdict and went to review before the change (20261228100000). A platform that synchronises its floor plan
-- by deleting and inserting the same rows (its service periods or its pairs of tables) makes such a change at
-- every sync, so each of the restaurant's reviews was planned again each time: a coordinator run, two history
-- rows and an event per review per sync, its review key new, so its re-seating search ran again (up to four
-- solver searches), for a floor plan that had not changed. Decision item 3 of the closing notes.
--
-- Now each statement that changes a restaurant's floor plan keeps a digest of what the engine reads of it
-- (private.floor_plan_room_digest: the time zone; each table, by id, with its zone, seats, party range and
-- state; the pairs; the service periods) beside its version (private.floor_plan_versions.room_digest). A
-- booking the coordinator's "nothing fits" (no_table_fits) sends to review keeps what that was said of
-- (private.review_judgements, with the review's state version): its request (party, time, stay), the
-- restaurant's combination limit, re-optimisation and mode, the floor plan of the version its snapshot was
-- planned on, read with that version in one statement, so a change committed while the review is written is
-- never taken for the floor plan it was said of, and who holds the tables around its stay (within the
-- snapshot's horizon, with each holder's party, status and state). The re-check leaves such a review while all of it is what it
-- is now. Any other review (one the lease sent there, an exact search out of time, one said while the
-- restaurant's floor plan had no digest yet or after its settings were written), one whose request, settings,
-- mode, floor plan or neighbours' holds differ, in any way and however they came back (a cancellation, a
-- move), and every review of a restaurant in a pass that finds bookings whose tables no longer seat them
-- (sending them back may free those tables; one it cannot send back this pass counts too), is planned again
-- as before.
--
-- What it leaves: a table deleted and inserted again is a new table (a new id), so a sync that rewrites its
-- unheld tables still plans such reviews again at each rewrite; a review said of the engine a function ran
-- then is not told apart from one a new deployment would make, nor one said under other turn times; the holds
-- are read at the verdict, under the restaurant lock, so one released in the seconds between the snapshot and
-- the verdict counts as free in what the review was said of, though the engine saw it taken, and settings are
-- told written since the snapshot by their updated_at (the ops calls set it), so a change whose transaction
-- began before the lease and ended between the snapshot and the verdict is not: such a review waits for an
-- operator, as it would in a restaurant that never rewrites its floor plan. Digests are kept from each
-- restaurant's first floor-plan change after this migration (a digest taken while a change was being written
-- could name the version after it), so until then its reviews are planned again as before.
--
-- private.keep_floor_plan_version: as in 20261230020000, with the digest; private.assignment_fail_unchecked: as
-- in 20261228030000, keeping the judgement with the review; private.replan_broken_holds: as in
-- 20261231200000, leaving such reviews.

-- What the engine reads of a restaurant's floor plan, as one digest.
create function private.floor_plan_room_digest(p_restaurant_id uuid)
returns text language sql stable set search_path = '' as $$
  select pg_catalog.md5(pg_catalog.jsonb_build_array(
    (select r.timezone from public.restaurants r where r.id = p_restaurant_id),
    (select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(t.id, t.zone_id, t.capacity, t.min_party_size,
                                   t.max_party_size, t.active, t.out_of_service, t.movable) order by t.id)
       from public.restaurant_tables t where t.restaurant_id = p_restaurant_id),
    (select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(j.table_a, j.table_b) order by j.table_a, j.table_b)
       from public.table_adjacency j where j.restaurant_id = p_restaurant_id),
    (select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(p.day_of_week, p.starts_at, p.ends_at)
                                 order by p.day_of_week, p.starts_at, p.ends_at)
       from public.service_periods p where p.restaurant_id = p_restaurant_id))::text);
$$;

-- Who holds which tables around the booking's stay, as the snapshot shows them (the other bookings' holds
-- within its horizon, with each holder's party, status and state, which re-optimisation reads: whether it may
-- move the holder, and where to).
create function private.holds_fingerprint(b public.bookings)
returns text language sql stable set search_path = '' as $$
  select pg_catalog.md5(coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(
           a.booking_id, a.table_id, pg_catalog.lower(a.during), pg_catalog.upper(a.during), a.source,
           k.party_size, k.status, k.assignment_state)
           order by a.booking_id, a.table_id), '[]'::jsonb)::text)
    from public.booking_table_assignments a join public.bookings k on k.id = a.booking_id
   where a.restaurant_id = b.restaurant_id and a.released_at is null and a.booking_id <> b.id
     and a.during && pg_catalog.tstzrange(pg_catalog.lower(private.blocked_window(b)) - private.snapshot_horizon(),
                                          pg_catalog.upper(private.blocked_window(b)) + private.snapshot_horizon());
$$;

-- What "nothing fits" for the booking is said of: its request (private.request_rules),
-- the restaurant's combination limit and re-optimisation, its mode, its floor plan's digest and who holds the
-- tables around it; null without a digest.
create function private.review_judgement(b public.bookings, p_settings private.pipeline_settings, p_mode text,
                                         p_room_digest text)
returns text language sql stable set search_path = '' as $$
  select case when p_room_digest is not null then pg_catalog.md5(pg_catalog.concat_ws('/',
           private.request_rules(private.rules_digest(b, p_settings)),
           p_settings.max_tables_per_booking, p_settings.reoptimize, p_mode, p_room_digest,
           private.holds_fingerprint(b))) end;
$$;

alter table private.floor_plan_versions add column room_digest text;
comment on column private.floor_plan_versions.room_digest is
  'private.floor_plan_room_digest of the floor plan at this version, kept by the statement that made it; null until the restaurant''s first floor-plan change after 20261231260000.';

create table private.review_judgements (
  booking_id uuid primary key references public.bookings (id) on delete cascade,
  state_version integer not null,
  judgement text not null
);
comment on table private.review_judgements is
  'What a booking''s latest "nothing fits" was said of (private.review_judgement), and the state version of the review it went to: the floor-plan re-check leaves that review alone while it is what it would be said of now.';
alter table private.review_judgements enable row level security;
revoke all on private.review_judgements from public, anon, authenticated, service_role;

create or replace function private.keep_floor_plan_version()
returns trigger language plpgsql security definer set search_path = '' as $$
begin
  -- In restaurant order, so two statements changing several restaurants take their rows in the same order.
  insert into private.floor_plan_versions as v (restaurant_id, changes)
  select n.restaurant_id, count(*) from new_rows n group by n.restaurant_id order by n.restaurant_id
  on conflict (restaurant_id) do update set changes = v.changes + excluded.changes;
  -- The floor plan as this statement leaves it, for the version it made (rows this transaction holds already).
  update private.floor_plan_versions v set room_digest = private.floor_plan_room_digest(v.restaurant_id)
   where v.restaurant_id in (select n.restaurant_id from new_rows n);
  return null;
end $$;

create or replace function private.assignment_fail_unchecked(
  p_booking_id uuid,
  p_lease_token uuid,
  p_kind text,
  p_reason text,
  p_duration_ms integer default null,
  p_details jsonb default '{}'::jsonb,
  p_shadow jsonb default null,
  p_now timestamptz default now()
) returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  b public.bookings;
  restaurant uuid;
  reason text := private.scrub_personal_data(coalesce(nullif(pg_catalog.btrim(p_reason), ''), p_kind));
  -- The reason the attempt ends with: prefixed with its kind unless it names its own code.
  ending text := case when pg_catalog.strpos(reason, ':') = 0 then p_kind || ': ' || reason else reason end;
  offer jsonb;
  -- What "nothing fits" was said of (private.review_judgement): kept with the review it sends the booking to.
  judged text;
  ended jsonb;
begin
  if p_kind is null or p_kind not in ('no_fit', 'conflict', 'error', 'invalid_data') then
    raise exception using errcode = 'AS005', message = 'kind must be one of no_fit, conflict, error, invalid_data';
  end if;
  select * into b from public.bookings x where x.id = p_booking_id;
  if not found then
    return '{"outcome": "lease_lost"}'::jsonb;
  end if;
  restaurant := b.restaurant_id;
  -- Before the lock (see the header): only for the attempt that holds the lease and is about to be escalated.
  if b.lease_token = p_lease_token and private.escalates_as_given(b, p_kind) then
    offer := private.escalation_offer(p_booking_id, ending);
  end if;
  -- The attempt leaves its slot: serialised with the begins that count the slots (20261206000000).
  perform private.lock_restaurant(restaurant);
  b := private.leased_booking(p_booking_id, p_lease_token);
  if b.id is null then
    return '{"outcome": "lease_lost"}'::jsonb;
  end if;
  -- "Nothing fits" said of a request, or a floor plan, that has changed since the snapshot (a party of 8 cut to
  -- 2 while it was planned) is no verdict on the booking as it is: planned again, as a commit would be.
  if p_kind = 'no_fit' and private.rules_changed_since_snapshot(b, private.settings_for(b.restaurant_id)) then
    p_kind := 'conflict';
    ending := 'rule_changed: the booking or its restaurant''s tables changed while it was planned, so "'
              || pg_catalog.left(ending, 300) || '" was said of what they were; planned again';
    offer := null;
  end if;
  -- Of "nothing fits" alone (not an exact search out of time, which another try may finish): the floor plan of
  -- the version the snapshot was planned on (the last part of the lease's rules digest, which the check above
  -- found unchanged, so the request and the combination limit are the lease's too), read with that version in
  -- one statement, so it is that version's; and who holds the tables around it now, under the restaurant lock.
  -- Settings written since the snapshot (re-optimisation, which the rules digest leaves out) keep nothing.
  if p_kind = 'no_fit' and pg_catalog.split_part(ending, ':', 1) = 'no_table_fits' then
    select private.review_judgement(b, private.settings_for(b.restaurant_id), b.assignment_mode, v.room_digest)
      into judged
      from private.planned_rules p join private.floor_plan_versions v on v.restaurant_id = b.restaurant_id
     where p.booking_id = b.id and p.lease_token = b.lease_token
       and v.changes::text = pg_catalog.split_part(p.digest, '/', 7)
       and (select g.updated_at from private.pipeline_settings g) < p.planned_at
       and coalesce((select r.updated_at from private.restaurant_pipeline_settings r
                      where r.restaurant_id = b.restaurant_id), '-infinity') < p.planned_at;
  end if;
  perform private.record_shadow(b, p_shadow);
  -- A conflict says nothing either way about the restaurant's pipeline: neither counted nor a reset, and a
  -- probe that ends so hands the probe on, as one that met this booking's own bad data does.
  if p_kind = 'conflict' then
    perform private.breaker_release_probe(b.restaurant_id, b.id, p_now);
  elsif p_kind in ('error', 'invalid_data') then
    if p_kind = 'error' then
      perform private.breaker_record(b.restaurant_id, b.id, true, p_now);
    else
      perform private.breaker_release_probe(b.restaurant_id, b.id, p_now);
    end if;
    perform private.record_pipeline_event(b.assignment_mode, 'coordinator.error', 'error',
      pg_catalog.jsonb_build_object('message', pg_catalog.left(reason, 500), 'attempts', b.attempt_count,
                                    'kind', p_kind, 'counts_toward_breaker', p_kind = 'error'),
      b.restaurant_id, b.id);
  else
    perform private.breaker_record(b.restaurant_id, b.id, false, p_now);
  end if;
  -- invalid_data is retried and escalated exactly like an error; only the breaker tells them apart.
  ended := private.end_attempt(b, case when p_kind = 'invalid_data' then 'error' else p_kind end, ending,
                               p_duration_ms, p_details, p_now, offer);
  if ended ->> 'outcome' = 'manual_review' and judged is not null then
    insert into private.review_judgements (booking_id, state_version, judgement)
    select k.id, k.assignment_state_version, judged from public.bookings k where k.id = b.id
    on conflict (booking_id) do update set state_version = excluded.state_version, judgement = excluded.judgement;
  end if;
  return ended;
end $$;


create or replace function private.replan_broken_holds(p_restaurant_id uuid, p_now timestamptz)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  broken uuid[];
  reviews uuid[] := '{}';
  why text;
  b public.bookings;
  one uuid;
  replanned integer := 0;
  failed integer := 0;
  busy integer := 0;
  left_over integer := 0;
  seen pg_catalog.pg_snapshot;
  -- The moment the bookings are judged at, once the lock is held: by the clock, or p_now where it is later.
  judged timestamptz;
  -- What a review would be said of now, read once a pass: the restaurant's mode, settings and floor plan.
  mode text;
  settings private.pipeline_settings;
  now_digest text;
  -- Since when the restaurant has waited for a re-check: a booking's failure is recorded once in that time.
  episode timestamptz := (select c.pending_since from private.floor_plan_rechecks c
                           where c.restaurant_id = p_restaurant_id);
  -- When the latest change that may seat more was made, if one was.
  room timestamptz := (select c.room_added_at from private.floor_plan_rechecks c
                        where c.restaurant_id = p_restaurant_id);
begin
  -- The scan's own snapshot, read in the same statement: what it saw.
  select pg_catalog.array_agg(k.id order by k.start_at, k.id), pg_catalog.pg_current_snapshot() into broken, seen
    from public.bookings k
   where k.restaurant_id = p_restaurant_id and k.start_at > p_now
     and k.assignment_state = 'confirmed' and k.status = 'confirmed' and not private.holds_its_stay(k);
  -- Then the lock, always: a commit that checked its tables before the change may still have been in flight,
  -- and only once it is done can its booking be seen. Only the bookings ahead whose row or holds the scan may
  -- not have seen are looked at again under it, so the lock is held briefly however many lie ahead.
  perform private.lock_restaurant(p_restaurant_id);
  judged := greatest(p_now, pg_catalog.clock_timestamp());
  broken := coalesce(broken, '{}') || array(
    select k.id from public.bookings k
     where k.restaurant_id = p_restaurant_id and k.start_at > judged
       and k.assignment_state = 'confirmed' and k.status = 'confirmed'
       and (private.may_be_unseen_by(k.xmin, seen)
            or exists (select 1 from public.booking_table_assignments a
                        where a.booking_id = k.id and a.released_at is null and private.may_be_unseen_by(a.xmin, seen)))
       and not private.holds_its_stay(k));
  -- Reviews the engine decided (nothing fits, the party too large or small, outside service hours, the exact
  -- search out of time, no table in use; or attempts run out with one of those last) before a change that may
  -- seat more are planned again, each once: one that comes back to review did so after the change. Not a
  -- restaurant switched off, whose bookings an operator seats; not one whose start has passed.
  -- One whose "nothing fits" was said of what it would be said of now (the same request, combination limit,
  -- re-optimisation, mode, floor plan and holds around it: one a platform wrote back as it was) is left as it
  -- is, unless this pass finds bookings whose tables no longer seat them, which sending them back may free.
  if room is not null then
    mode := (select d.mode from private.decide_mode(p_restaurant_id, private.function_ceiling()) d);
  end if;
  if mode <> 'off' then
    settings := private.settings_for(p_restaurant_id);
    now_digest := (select v.room_digest from private.floor_plan_versions v where v.restaurant_id = p_restaurant_id);
    reviews := array(
      select k.id from public.bookings k
       where k.restaurant_id = p_restaurant_id and k.assignment_state = 'manual_review'
         and k.start_at > judged and private.reviewed_before(k, room)
         and (pg_catalog.cardinality(broken) > 0 or not exists (select 1 from private.review_judgements f
                          where f.booking_id = k.id and f.state_version = k.assignment_state_version
                            and f.judgement = private.review_judgement(k, settings, mode, now_digest))));
  end if;
  -- Each on its own, the broken bookings first: one that cannot be changed, or whose row is held, holds back no
  -- other. 20 sent back a pass.
  for one in select k.id from public.bookings k where k.id = any(broken) or k.id = any(reviews)
              order by k.assignment_state <> 'confirmed', k.start_at, k.id loop
    if replanned >= 20 then
      left_over := left_over + 1;
      continue;
    end if;
    begin
      select * into b from public.bookings k where k.id = one for update nowait;
      -- Begun since the scan (the lock's wait, the bookings before it): a stay under way, told of below.
      why := case when b.start_at <= greatest(judged, pg_catalog.clock_timestamp()) then null
                  when b.assignment_state = 'confirmed' and b.status = 'confirmed' and not private.holds_its_stay(b)
                    then 'rule_changed: the floor plan changed and its tables no longer seat it under the rules'
                  when one = any(reviews) and private.reviewed_before(b, room)
                    then 'floor_plan_adds_room: the floor plan changed in a way that may seat it; planned again' end;
      if why is not null then
        perform private.apply_assignment_transition(b.id, 'assignment_pending', b.assignment_state_version, why,
                                                    '{}'::jsonb, 'system');
        perform private.queue_or_nudge(b.id, b.restaurant_id, 'modification');
        replanned := replanned + 1;
      end if;
    exception
      when lock_not_available then
        busy := busy + 1;
      when others then
        failed := failed + 1;
        if not exists (select 1 from public.observability_events e
                        where e.booking_id = one and e.event_type = 'floor_plan.replan_failed'
                          and e.created_at >= coalesce(episode, '-infinity')) then
          -- Stamped by the clock, as pending_since is: a sweep's transaction may have begun before the mark.
          perform private.record_event('assignment.sweeper', 'floor_plan.replan_failed', 'error',
            pg_catalog.jsonb_build_object('reason', 'replan_failed', 'sqlstate', sqlstate), p_restaurant_id, one,
            pg_catalog.clock_timestamp());
        end if;
    end;
  end loop;
  -- A stay under way whose party has not arrived is left at its tables (the party may be walking in to them),
  -- but an operator is told, once in the time the restaurant waited for this re-check: nothing else would,
  -- and the mark that brought the change here is gone once the bookings ahead are done. Judged, and stamped, by
  -- the clock now (or p_now where later), so a stay begun while this call waited or sent others back is one.
  judged := greatest(judged, pg_catalog.clock_timestamp());
  perform private.record_event('assignment.sweeper', 'floor_plan.stay_under_way_breaks_rules', 'warning',
            '{"reason": "stay_under_way"}'::jsonb, p_restaurant_id, k.id, judged)
     from public.bookings k
    where k.restaurant_id = p_restaurant_id and k.start_at <= judged and k.start_at > judged - interval '12 hours'
      and k.end_at > judged and k.assignment_state = 'confirmed' and k.status = 'confirmed'
      and not private.holds_its_stay(k)
      and not exists (select 1 from public.observability_events e
                       where e.booking_id = k.id and e.event_type = 'floor_plan.stay_under_way_breaks_rules'
                         and e.created_at >= coalesce(episode, '-infinity'));
  return pg_catalog.jsonb_build_object('replanned', replanned, 'failed', failed, 'busy', busy, 'left', left_over);
end $$;


revoke all on all routines in schema private from public, anon, authenticated;

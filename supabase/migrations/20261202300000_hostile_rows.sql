-- No row can stall the pipeline, and no client can steer it. Bookings are checked at the boundary (a party of
-- at most 100, a start within a day back and five years ahead, bounded free text, a readable reference); the
-- pipeline's bookkeeping columns are its own, as the state is; the sweeper handles each row on its own, so a
-- row that fails is escalated with a reason naming the failure while every other row is still swept; and the
-- searches that run under the restaurant lock are bounded whatever the floor plan.

-- ---------------------------------------------------------------------------------------------------
-- The boundary

-- A party of more than 100 is an event, not a booking: arranged with the restaurant, not seated by a pipeline.
alter table public.bookings
  drop constraint booking_party_size_is_positive,
  add constraint booking_party_size_is_between_1_and_100 check (party_size between 1 and 100),
  add constraint booking_reference_is_a_readable_code
    check (reference ~ '^[ABCDEFGHJKMNPQRSTVWXYZ][0-9ABCDEFGHJKMNPQRSTVWXYZ]{9}$'),
  add constraint booking_notes_are_at_most_2000_characters check (char_length(notes) <= 2000),
  add constraint booking_customer_name_is_at_most_200_characters check (char_length(customer_name) <= 200),
  add constraint booking_customer_email_is_at_most_320_characters check (char_length(customer_email) <= 320),
  add constraint booking_customer_phone_is_at_most_50_characters check (char_length(customer_phone) <= 50);

-- Table numbers travel in events and the manual-review queue: a short label, never something that reads as
-- a phone number. A table seats at most 100, like the largest party: seat counts of combined tables are
-- summed, and a capacity near the integer limit made every capacity check of the restaurant fail.
alter table public.restaurant_tables
  add constraint table_number_is_a_short_label
    check (char_length(table_number) <= 20 and not private.text_has_personal_data(table_number)),
  add constraint table_seats_at_most_100 check (capacity <= 100);

-- The pipeline's bookkeeping columns change only through its own functions, which run as the table's owner
-- (security definer); a client — service_role through the Data API, or any other role — may neither set them
-- on insert nor change them, nor move a booking to another restaurant. Runs as the caller (not security
-- definer) precisely so it can tell who that is; it reads only pg_catalog, which every role may.
-- A superuser can still bypass triggers (session_replication_role = replica): the guards protect the
-- pipeline from its clients, not from the database's owner.
create function private.guard_bookkeeping()
returns trigger language plpgsql set search_path = '' as $$
declare
  owner_or_superuser boolean := current_user = (select pg_catalog.pg_get_userbyid(c.relowner)
                                                  from pg_catalog.pg_class c where c.oid = tg_relid)
                                or coalesce((select r.rolsuper from pg_catalog.pg_roles r where r.rolname = current_user), false);
  touched text;
begin
  if tg_op = 'UPDATE' and new.restaurant_id is distinct from old.restaurant_id then
    raise exception using errcode = 'AS005',
      message = 'a booking stays with its restaurant: cancel it and book again at the other one';
  end if;
  if (tg_op = 'INSERT' or new.start_at is distinct from old.start_at)
     and (new.start_at < pg_catalog.now() - interval '1 day' or new.start_at > pg_catalog.now() + interval '5 years') then
    raise exception using errcode = 'AS005',
      message = 'a booking starts between a day ago and five years from now';
  end if;
  if owner_or_superuser then
    return new;
  end if;
  if tg_op = 'INSERT' then
    touched := case
      when new.created_at <> pg_catalog.now() then 'created_at'
      when new.next_attempt_at is not null then 'next_attempt_at'
      when new.attempt_count <> 0 then 'attempt_count'
      when new.dispatch_count <> 0 then 'dispatch_count'
      when new.last_dispatched_at is not null then 'last_dispatched_at'
      when new.lease_token is not null or new.lease_expires_at is not null then 'lease_token'
      when new.deferred_since is not null then 'deferred_since'
      when new.manual_review_reason is not null then 'manual_review_reason'
      when new.assignment_mode is not null then 'assignment_mode'
      when new.assignment_strategy is not null then 'assignment_strategy' end;
  else
    touched := case
      when new.created_at is distinct from old.created_at then 'created_at'
      when new.reference is distinct from old.reference then 'reference'
      when new.next_attempt_at is distinct from old.next_attempt_at then 'next_attempt_at'
      when new.attempt_count is distinct from old.attempt_count then 'attempt_count'
      when new.dispatch_count is distinct from old.dispatch_count then 'dispatch_count'
      when new.last_dispatched_at is distinct from old.last_dispatched_at then 'last_dispatched_at'
      when (new.lease_token, new.lease_expires_at) is distinct from (old.lease_token, old.lease_expires_at) then 'lease_token'
      when new.deferred_since is distinct from old.deferred_since then 'deferred_since'
      when new.manual_review_reason is distinct from old.manual_review_reason then 'manual_review_reason'
      when new.assignment_mode is distinct from old.assignment_mode then 'assignment_mode'
      when new.assignment_strategy is distinct from old.assignment_strategy then 'assignment_strategy' end;
  end if;
  if touched is not null then
    raise exception using errcode = 'AS012',
      message = pg_catalog.format('bookings.%s is the pipeline''s bookkeeping: leave it out of the %s', touched,
                                  pg_catalog.lower(tg_op)),
      hint = 'Change a booking''s time, party size, buffers, notes or guest details; the pipeline keeps the rest.';
  end if;
  return new;
end $$;
create trigger guard_bookkeeping before insert or update on public.bookings
  for each row execute function private.guard_bookkeeping();

-- ---------------------------------------------------------------------------------------------------
-- Personal data: full-width and other compatibility forms of digits and letters are read as what they are.

create or replace function private.text_has_personal_data(p_text text)
returns boolean language sql immutable security definer set search_path = '' as $$
  select pg_catalog.normalize(p_text, 'NFKC') operator(pg_catalog.~) private.email_pattern()
      or pg_catalog.normalize(p_text, 'NFKC') operator(pg_catalog.~) private.phone_pattern();
$$;

create or replace function private.scrub_personal_data(p_text text)
returns text language sql immutable set search_path = '' as $$
  select pg_catalog.regexp_replace(
           pg_catalog.regexp_replace(pg_catalog.normalize(p_text, 'NFKC'), private.email_pattern(), '[email]', 'g'),
           private.phone_pattern(), '[number]', 'g');
$$;

-- What an operator types (who they are, why they act) is scrubbed before the settings audit or anything else
-- stores it.
create or replace function private.act_as(p_actor text, p_reason text default null)
returns text language plpgsql set search_path = '' as $$
declare
  actor text := private.scrub_personal_data(pg_catalog.btrim(p_actor));
begin
  if coalesce(actor, '') = '' then
    raise exception using errcode = 'AS005', message = 'say who is acting: pass p_actor (a name or ticket, not a guest''s data)';
  end if;
  perform pg_catalog.set_config('pipeline.actor', pg_catalog.statement_timestamp()::text || '|' || actor, true);
  perform pg_catalog.set_config('pipeline.reason', coalesce(pg_catalog.left(private.scrub_personal_data(p_reason), 500), ''), true);
  return actor;
end $$;

-- The kill switch keeps its reason, scrubbed like every other thing an operator types.
create or replace function ops.set_kill_switch(p_on boolean, p_actor text, p_reason text default null)
returns jsonb language plpgsql security definer set search_path = '' as $$
begin
  perform private.act_as(p_actor, p_reason);
  if p_on is null then
    raise exception using errcode = 'AS005', message = 'say true (everything on the legacy path) or false';
  end if;
  if p_on and coalesce(pg_catalog.btrim(p_reason), '') = '' then
    raise exception using errcode = 'AS005', message = 'give a reason when pulling the kill switch';
  end if;
  update private.rollout_settings
     set kill_switch = p_on, kill_switch_reason = case when p_on then pg_catalog.current_setting('pipeline.reason') end,
         updated_at = pg_catalog.now();
  return ops.rollout_status();
end $$;

-- ---------------------------------------------------------------------------------------------------
-- Smaller holes

-- Released at the moment of release, not at the start of a transaction that may have begun before the
-- tables were written.
create or replace function private.release_booking_tables(p_booking_id uuid, p_reason text)
returns integer language sql set search_path = '' as $$
  with released as (
    update public.booking_table_assignments
       set released_at = pg_catalog.clock_timestamp(), release_reason = p_reason
     where booking_id = p_booking_id and released_at is null
    returning 1)
  select count(*)::integer from released;
$$;

-- A changed reset buffer moves the window the tables are held for, so it is re-planned like a new time.
create or replace function private.reassign_changed_booking()
returns trigger language plpgsql security definer set search_path = '' as $$
begin
  if new.assignment_state = 'confirmed'
     and (new.start_at, new.end_at, new.party_size, new.buffer_before_minutes, new.buffer_after_minutes)
         is distinct from (old.start_at, old.end_at, old.party_size, old.buffer_before_minutes, old.buffer_after_minutes) then
    perform private.apply_assignment_transition(new.id, 'assignment_pending', new.assignment_state_version,
      'booking_changed: time, party size or buffers changed after confirmation',
      pg_catalog.jsonb_build_object('party_size', pg_catalog.jsonb_build_array(old.party_size, new.party_size),
                                    'start_changed', new.start_at is distinct from old.start_at), 'system');
    perform private.nudge(new.id, 'modification');
  end if;
  return null;
end $$;
drop trigger reassign_changed_booking on public.bookings;
create trigger reassign_changed_booking
  after update of start_at, end_at, party_size, buffer_before_minutes, buffer_after_minutes on public.bookings
  for each row execute function private.reassign_changed_booking();

-- A move list names each booking once: the same booking twice would hold two sets of tables.
create or replace function private.apply_moves(b public.bookings, p_moves jsonb, p_max_tables integer)
returns jsonb language plpgsql set search_path = '' as $$
declare
  m record;
  o public.bookings;
  held uuid[];
  staff boolean;
  violation text;
begin
  if (select count(*) <> count(distinct x.booking_id)
        from pg_catalog.jsonb_to_recordset(p_moves) as x(booking_id uuid)) then
    raise exception using errcode = 'AS007', message = 'a proposed move list names the same booking twice';
  end if;
  for m in select * from pg_catalog.jsonb_to_recordset(p_moves) as x(booking_id uuid, from_table_ids uuid[], to_table_ids uuid[]) loop
    select * into o from public.bookings where id = m.booking_id and restaurant_id = b.restaurant_id for update;
    select pg_catalog.array_agg(a.table_id order by a.table_id), bool_or(a.source <> 'auto') into held, staff
      from public.booking_table_assignments a where a.booking_id = m.booking_id and a.released_at is null;
    if o.id is null or o.id = b.id or private.is_locked(o, coalesce(staff, false))
       or held is distinct from (select pg_catalog.array_agg(t order by t) from pg_catalog.unnest(m.from_table_ids) t) then
      return pg_catalog.jsonb_build_object('outcome', 'conflict', 'reason', 'a booking to move changed since the snapshot');
    end if;
    violation := private.plan_violation(o, m.to_table_ids, p_max_tables);
    if violation is not null then
      raise exception using errcode = 'AS007', message = pg_catalog.format('a proposed move breaks a rule: %s', violation);
    end if;
  end loop;
  for m in select * from pg_catalog.jsonb_to_recordset(p_moves) as x(booking_id uuid) loop
    perform private.release_booking_tables(m.booking_id, 'moved');
  end loop;
  for m in select * from pg_catalog.jsonb_to_recordset(p_moves) as x(booking_id uuid, to_table_ids uuid[]) loop
    insert into public.booking_table_assignments (booking_id, restaurant_id, table_id, during, source, assigned_by)
    select o2.id, o2.restaurant_id, t, private.blocked_window(o2), 'auto', 'coordinator:reoptimize'
      from public.bookings o2, pg_catalog.unnest(m.to_table_ids) t where o2.id = m.booking_id;
    perform private.record_pipeline_event(b.assignment_mode, 'coordinator.booking_moved', 'info',
      pg_catalog.jsonb_build_object('for_booking', b.id, 'tables', pg_catalog.cardinality(m.to_table_ids)),
      b.restaurant_id, m.booking_id);
  end loop;
  return null;
end $$;

-- ---------------------------------------------------------------------------------------------------
-- Bounded group search. The search runs under the restaurant lock, and a floor plan where every table
-- touches every other has millions of groups; past this many it stops.

create function private.group_search_limit()
returns integer language sql immutable set search_path = '' as $$
  select 2000;
$$;

create or replace function private.table_groups(p_restaurant_id uuid, p_max_tables integer)
returns table (table_ids uuid[], seats integer) language sql stable set search_path = '' as $$
  with recursive
    joinable as (
      select t.id, t.zone_id, t.capacity from private.usable_tables(p_restaurant_id) t where t.movable),
    link as (
      select x.id as from_id, y.id as to_id, y.capacity as to_capacity
        from public.table_adjacency a
        join joinable x on x.id in (a.table_a, a.table_b)
        join joinable y on y.id in (a.table_a, a.table_b) and y.id <> x.id
       where a.restaurant_id = p_restaurant_id and x.zone_id = y.zone_id),
    grp(members, seats) as (
      select array[j.id], j.capacity from joinable j
      union
      select (select pg_catalog.array_agg(m order by m) from pg_catalog.unnest(g.members || l.to_id) m),
             g.seats + l.to_capacity
        from grp g join link l on l.from_id = any(g.members)
       where pg_catalog.cardinality(g.members) < p_max_tables
         and l.to_id > g.members[1] and not l.to_id = any(g.members))
  select g.members, g.seats from grp g where pg_catalog.cardinality(g.members) >= 2
   limit private.group_search_limit();
$$;

-- The most seats one combination offers (null when no two tables can be combined). When the bounded search
-- stops before it has seen every group, it answers with what the largest tables could seat together — an
-- upper bound, so capacity verification never turns a party away that some group might seat; the engine and
-- plan_violation still decide the actual tables.
create or replace function private.largest_combination(p_restaurant_id uuid, p_max_tables integer,
                                                      p_enough integer default null)
returns integer language sql stable set search_path = '' as $$
  with found as materialized (select g.seats from private.table_groups(p_restaurant_id, p_max_tables) g)
  select case
    when (select count(*) from found) >= private.group_search_limit() then (
      select max(z.seats) from (
        select sum(t.capacity)::integer as seats
          from (select u.zone_id, u.capacity,
                       pg_catalog.row_number() over (partition by u.zone_id order by u.capacity desc) as rank
                  from private.usable_tables(p_restaurant_id) u where u.movable) t
         where t.rank <= p_max_tables group by t.zone_id) z)
    else coalesce((select f.seats from found f where p_enough is not null and f.seats >= p_enough limit 1),
                  (select max(f.seats) from found f)) end;
$$;

-- ---------------------------------------------------------------------------------------------------
-- The sweeper handles every row on its own: one that fails — whatever it holds — is escalated with a reason
-- naming the failure (never a value from the row), an event records it, and the sweep goes on.

create function private.sweep_row_failed(p_booking_id uuid, p_step text, p_sqlstate text, p_now timestamptz)
returns void language plpgsql set search_path = '' as $$
declare
  b public.bookings;
  reason text := pg_catalog.format('sweeper_error: %s failed with SQLSTATE %s; see the sweeper.row_failed event',
                                   p_step, p_sqlstate);
begin
  perform private.record_event('assignment.sweeper', 'sweeper.row_failed', 'error',
    pg_catalog.jsonb_build_object('step', p_step, 'sqlstate', p_sqlstate), null, p_booking_id, p_now);
  begin
    select * into b from public.bookings where id = p_booking_id;
    if b.assignment_state not in ('manual_review', 'confirmed', 'cancelled') then
      if b.assignment_state = 'assignment_in_progress' then
        perform private.apply_assignment_transition(b.id, 'assignment_pending', b.assignment_state_version,
          'lease_expired: released by the sweeper after an error', '{}'::jsonb, 'sweeper', null, p_now);
        b.assignment_state_version := b.assignment_state_version + 1;
      end if;
      perform private.apply_assignment_transition(b.id, 'manual_review', b.assignment_state_version, reason,
        pg_catalog.jsonb_build_object('step', p_step, 'sqlstate', p_sqlstate), 'sweeper', null, p_now);
    end if;
  exception when others then
    -- The booking cannot even be escalated: the event above is what ops will see (ops.stuck_bookings lists it).
    null;
  end;
end $$;

create or replace function private.sweep(p_now timestamptz default pg_catalog.clock_timestamp())
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  s private.pipeline_settings;
  r record;
  expired integer := 0;
  dispatched integer := 0;
  not_dispatched integer := 0;
  escalated integer := 0;
  failed integer := 0;
  backoff_ms integer;
  reason text;
  configured boolean := private.dispatch_configured();
begin
  s := private.settings_for(null);

  for r in select b.id from public.bookings b
            where b.assignment_state = 'assignment_in_progress' and b.lease_expires_at <= p_now
            order by b.lease_expires_at limit s.sweeper_batch_size for update skip locked loop
    begin
      perform private.expire_lease(r.id, p_now);
      expired := expired + 1;
    exception when others then
      perform private.sweep_row_failed(r.id, 'expire_lease', sqlstate, p_now);
      failed := failed + 1;
    end;
  end loop;

  for r in select b.id, b.restaurant_id, b.dispatch_count, b.assignment_state_version, b.created_at, b.assignment_mode,
                  b.attempt_count
             from public.bookings b
            where private.is_queued(b.assignment_state) and b.next_attempt_at <= p_now
            order by b.next_attempt_at limit s.sweeper_batch_size for update skip locked loop
    begin
      if r.dispatch_count >= s.max_dispatches then
        reason := case when configured then
            pg_catalog.format('coordinator_unreachable: dispatched %s times since %s without the coordinator picking it up',
                              r.dispatch_count, pg_catalog.to_char(r.created_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'))
          else
            pg_catalog.format('coordinator_unreachable: tried %s times to dispatch it, but the coordinator URL or secret is missing from Vault (assignment_functions_url, assignment_pipeline_secret)',
                              r.dispatch_count) end;
        perform private.apply_assignment_transition(r.id, 'manual_review', r.assignment_state_version, reason,
          '{}'::jsonb, 'sweeper');
        -- Named for the booking's last mode, or the one it would have run in (the flags' ceiling is unknown here).
        perform private.record_escalation(coalesce(r.assignment_mode, (select m.mode from private.effective_mode(r.restaurant_id) m)),
          reason, r.attempt_count, null,
          pg_catalog.jsonb_build_object('dispatches', r.dispatch_count, 'dispatch_configured', configured),
          r.restaurant_id, r.id, 'error');
        escalated := escalated + 1;
      else
        -- The attempt counts even when nothing could be sent, so a booking still escalates in bounded time.
        -- 5 s, 10 s, 20 s … capped at a minute, plus up to 2 s of jitter.
        backoff_ms := private.backoff_ms(r.dispatch_count + 1, 5000, 60000, 2000);
        update public.bookings
           set dispatch_count = dispatch_count + 1, last_dispatched_at = p_now,
               next_attempt_at = p_now + pg_catalog.make_interval(secs => backoff_ms / 1000.0)
         where id = r.id;
        if private.dispatch_booking(r.id, 'sweeper') is not null then
          dispatched := dispatched + 1;
        else
          not_dispatched := not_dispatched + 1;
        end if;
      end if;
    exception when others then
      perform private.sweep_row_failed(r.id, case when r.dispatch_count >= s.max_dispatches then 'escalate' else 'dispatch' end,
                                       sqlstate, p_now);
      failed := failed + 1;
    end;
  end loop;
  if not_dispatched > 0 and not configured then
    perform private.record_event('assignment.sweeper', 'dispatch.not_configured', 'error',
      pg_catalog.jsonb_build_object('not_dispatched', not_dispatched,
        'fix', 'store assignment_functions_url and assignment_pipeline_secret in Vault'), null, null, p_now);
  end if;

  if exists (select 1 from public.notification_outbox o
              where (o.status = 'pending' and o.next_attempt_at <= p_now)
                 or (o.status = 'sending' and o.lease_expires_at <= p_now)) then
    perform private.post_to_function('notification-dispatcher', '{"trigger": "sweeper"}'::jsonb);
  end if;

  if expired + dispatched + not_dispatched + escalated + failed > 0 then
    perform private.record_event('assignment.sweeper', 'sweeper.run',
      case when not_dispatched + failed > 0 then 'error' when escalated > 0 then 'warning' else 'info' end,
      pg_catalog.jsonb_build_object('expired_leases', expired, 'dispatched', dispatched, 'not_dispatched', not_dispatched,
                                    'escalated', escalated, 'failed', failed),
      null, null, p_now);
  end if;
  return pg_catalog.jsonb_build_object('expired_leases', expired, 'dispatched', dispatched,
                                       'not_dispatched', not_dispatched, 'escalated', escalated, 'failed', failed);
end $$;

revoke all on all routines in schema private from public, anon, authenticated;

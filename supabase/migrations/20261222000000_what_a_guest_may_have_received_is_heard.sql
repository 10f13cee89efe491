-- What a guest may have received counts as heard, even once a newer message replaced it; and a message a
-- claim rewords goes out under a key of its own.
--
-- What was wrong:
--   * a claim drops (supersedes) a message that no longer describes its booking, and it nulled the lease of
--     one still out with a sender that never reported back. That message may have arrived, but nothing said so
--     any more: the guest counted as having heard nothing, so a change queued meanwhile went out as
--     "changed" and then, at its next try, as "confirmed", and a guest who may have held a confirmation was
--     not told of the booking's cancellation. The sender's late report was refused as lease_lost;
--   * the claim decides at every try whether a change is worded "changed" or (to a guest who received nothing
--     yet) "confirmed". A change first tried as "changed" and tried again as "confirmed" went out under the
--     same dedupe key, which the sender passes on as the idempotency key: a provider that honours it answers a
--     reused key with the first request's result (the confirmation is never delivered) or refuses it (422 for
--     most e-mail APIs, which the webhook sender takes as permanent: the message died at once).
-- Now:
--   * a message dropped while its send was out keeps its lease (superseded, lease_expires_at set: no other
--     superseded row has one) and counts as what the guest may have received (private.may_have_reached_guest)
--     for the claim's wording, for a cancellation (tell_guest tells a guest who may think they are booked),
--     for ops.manual_review_queue's guest_was_told and for ops.pipeline_metrics' duplicate_confirmations. For a
--     confirmation tell_guest counts it as not received, as before: its sender may have crashed before sending,
--     so a booking changed back to what it said is confirmed again (a guest may be confirmed twice, never not
--     at all);
--   * its sender's late report is taken (returns superseded): a success changes nothing; a failure clears the
--     lease, is recorded (last_error, an info notification.failed event) and has tell_guest work out again
--     what the guest is owed, as a status change would. A report that may be such a late failure locks the
--     booking before the message, as tell_guest's callers do;
--   * the claim that rewords a message gives it the key `<booking id>:<seq>:booking_confirmed`, once: the row
--     says "confirmed" from then on, so its later tries keep that key, and no key is used for two wordings.
--
-- Bodies as in 20261209060000 (notification_claim_unchecked), 20261209070000 (tell_guest), 20261221000000
-- (notification_complete_unchecked and the public function's comment), 20261211000000 (manual_review_queue)
-- and 20261220010000 (pipeline_metrics), with those changes.

-- Sent; being sent; or dropped for a newer message while its send was out, and not reported failed since.
-- A send that failed was not received. No search_path, every operator qualified: the planner inlines it.
create function private.may_have_reached_guest(m public.notification_outbox)
returns boolean language sql immutable as $$
  select m.status operator(pg_catalog.=) any ('{sent,sending}'::text[])
      or (m.status operator(pg_catalog.=) 'superseded' and m.lease_expires_at is not null);
$$;

create or replace function private.notification_claim_unchecked(p_limit integer default 20, p_lease_ms integer default 60000,
                                                                p_now timestamptz default now())
returns table (id bigint, lease_token uuid, booking_id uuid, kind text, dedupe_key text, payload jsonb, attempts integer,
               recipient_email text, recipient_name text)
language plpgsql security definer set search_path = '' as $$
begin
  if p_limit is null or p_limit not between 1 and 500 then
    raise exception using errcode = 'AS005', message = 'limit must be between 1 and 500';
  end if;
  return query
  with due as (
    select o.id,
           -- A cancellation is news only to a guest who received something of the booking.
           private.message_is_current(o, b)
             and (o.kind <> 'booking_cancelled' or heard.any) as current,
           -- A change is a confirmation to a guest who received nothing yet.
           case when o.kind = 'booking_changed' and not heard.any then 'booking_confirmed' else o.kind end as says
      from public.notification_outbox o join public.bookings b on b.id = o.booking_id,
           -- Received, or perhaps (private.may_have_reached_guest).
           lateral (select exists (select 1 from public.notification_outbox s
                                    where s.booking_id = o.booking_id and s.seq < o.seq
                                      and private.may_have_reached_guest(s)) as any) heard
     where ((o.status = 'pending' and o.next_attempt_at <= p_now)
            or (o.status = 'sending' and o.lease_expires_at <= p_now))
       and not exists (select 1 from public.notification_outbox e
                        where e.booking_id = o.booking_id and e.seq < o.seq
                          and e.status = 'sending' and e.lease_expires_at > p_now)
     order by o.next_attempt_at
     limit p_limit
     for update of o skip locked),
  -- Runs to completion though nothing reads it, as every data-modifying WITH does.
  dropped as (
    -- A send still out (its sender never reported back) keeps its lease: it may have arrived, and its sender
    -- may yet report.
    update public.notification_outbox o
       set status = 'superseded',
           lease_token = case when o.status = 'sending' then o.lease_token end,
           lease_expires_at = case when o.status = 'sending' then o.lease_expires_at end
      from due where o.id = due.id and not due.current
    returning o.id),
  claimed as (
    update public.notification_outbox o
       set status = 'sending', attempts = o.attempts + 1, lease_token = pg_catalog.gen_random_uuid(),
           lease_expires_at = p_now + pg_catalog.make_interval(secs => p_lease_ms / 1000.0),
           kind = due.says, payload = o.payload || pg_catalog.jsonb_build_object('kind', due.says),
           -- Reworded now: a key of its own, which it keeps (it says "confirmed" from now on).
           dedupe_key = case when o.kind <> due.says then o.dedupe_key || ':' || due.says else o.dedupe_key end
      from due where o.id = due.id and due.current
    returning o.*)
  select c.id, c.lease_token, c.booking_id, c.kind, c.dedupe_key, c.payload, c.attempts, b.customer_email, b.customer_name
    from claimed c join public.bookings b on b.id = c.booking_id;
end $$;

-- Body as in 20261209070000, with a cancellation owed to a guest who may hold a message about the booking.
create or replace function private.tell_guest(b public.bookings)
returns void language plpgsql set search_path = '' as $$
declare
  heard public.notification_outbox;
  waiting public.notification_outbox;
  kind text;
begin
  -- Every message of the booking locked first: a dispatcher's claim that is taking one (pending → sending)
  -- commits before this reads what the guest has heard, and no claim takes one while this decides.
  perform 1 from public.notification_outbox where booking_id = b.id for update;
  -- What the guest surely has, or is being sent. A message dropped while its send was out (its sender never
  -- said) may have reached them or not: for a confirmation it counts as not received, so a booking confirmed
  -- again is confirmed again, perhaps twice but never not at all; for a cancellation it counts as received,
  -- so a guest who may think they are booked is told.
  select * into heard from public.notification_outbox o
   where o.booking_id = b.id
     and (o.status in ('sent', 'sending') or b.status = 'cancelled' and private.may_have_reached_guest(o))
   order by o.seq desc limit 1;
  kind := case
    when b.status = 'cancelled' then
      case when heard.id is not null and heard.kind <> 'booking_cancelled' then 'booking_cancelled' end
    when heard.id is null then 'booking_confirmed'
    when private.message_says(heard, b) then null
    else 'booking_changed' end;

  select * into waiting from public.notification_outbox
   where booking_id = b.id and status = 'pending' order by seq desc limit 1;
  if waiting.id is not null and waiting.kind = kind and waiting.seq > coalesce(heard.seq, 0)
     and (kind = 'booking_cancelled' or private.message_says(waiting, b)) then
    return; -- already owed, and still right (a duplicate dispatch, a table move)
  end if;
  update public.notification_outbox set status = 'superseded' where booking_id = b.id and status = 'pending';
  if kind is null then
    return;
  end if;
  insert into public.notification_outbox (booking_id, restaurant_id, kind, seq, dedupe_key, payload)
  select b.id, b.restaurant_id, kind, n.seq, b.id::text || ':' || n.seq,
         private.guest_view(b) || pg_catalog.jsonb_build_object('kind', kind, 'seq', n.seq)
    from (select coalesce(max(o.seq), 0) + 1 as seq from public.notification_outbox o where o.booking_id = b.id) n;
end $$;

create or replace function private.notification_complete_unchecked(p_id bigint, p_lease_token uuid, p_ok boolean,
                                                        p_error text default null,
                                                        p_now timestamptz default now(),
                                                        p_permanent boolean default false)
returns text language plpgsql security definer set search_path = '' as $$
declare
  row public.notification_outbox;
  booking public.bookings;
  dead boolean;
  because text;
begin
  if p_lease_token is null then
    raise exception using errcode = 'AS005', message = 'lease_token is required: pass the one notification_claim returned';
  end if;
  if p_ok is null then
    raise exception using errcode = 'AS005', message = 'p_ok must be true (sent) or false (failed)';
  end if;
  if p_permanent is null then
    raise exception using errcode = 'AS005', message = 'p_permanent must be true or false';
  end if;
  if p_ok and p_permanent then
    raise exception using errcode = 'AS005', message = 'p_permanent describes a failure: pass it with p_ok false';
  end if;
  -- A late failure of a dropped message has tell_guest lock the booking's messages (below): the booking's row
  -- first, then, as every status change's tell_guest does, so the two never wait for each other in a circle.
  -- A failure of a message still out may turn out to be that late failure too, when its lease has run out: a
  -- claim can drop it between this read and the lock below. A failure reported within its lease, the usual
  -- one, locks no booking, and a success reads nothing more.
  if not p_ok then
    select * into row from public.notification_outbox where id = p_id;
    if row.status = 'superseded' and row.lease_expires_at is not null
       or row.status = 'sending' and row.lease_expires_at <= pg_catalog.clock_timestamp() + interval '5 seconds' then
      perform 1 from public.bookings where id = row.booking_id for no key update;
    end if;
  end if;
  select * into row from public.notification_outbox where id = p_id for update;
  if not found then
    raise exception using errcode = 'AS005', message = pg_catalog.format('notification %s does not exist', p_id);
  end if;
  if row.lease_token is distinct from p_lease_token then
    -- Claimed again since (this caller's lease ran out): the current holder records the result.
    perform private.record_event('notifications', 'notification.lease_lost', 'warning',
      pg_catalog.jsonb_build_object('kind', row.kind, 'attempts', row.attempts, 'status', row.status, 'ok', p_ok),
      row.restaurant_id, row.booking_id);
    return 'lease_lost';
  end if;
  if row.status = 'superseded' and row.lease_expires_at is not null and not p_ok then
    -- Dropped for a newer message while this send was out, and it did not arrive after all: it no longer
    -- counts as heard, so the guest may be owed a message again (the one its newer message was dropped for,
    -- say, when the booking changed back). tell_guest works that out, as at a status change.
    update public.notification_outbox
       set lease_expires_at = null, last_error = private.scrub_and_cut(coalesce(p_error, 'unknown error'), 500)
     where id = p_id;
    perform private.record_event('notifications', 'notification.failed', 'info',
      pg_catalog.jsonb_build_object('kind', row.kind, 'attempts', row.attempts, 'dead', false,
                                    'permanent', p_permanent, 'superseded', true),
      row.restaurant_id, row.booking_id, p_now);
    select * into booking from public.bookings where id = row.booking_id; -- locked above
    if booking.status in ('confirmed', 'cancelled') and booking.end_at > p_now then
      perform private.tell_guest(booking);
    end if;
    return row.status;
  end if;
  if row.status <> 'sending' then
    return row.status; -- this claim's result is already recorded, or its message dropped: nothing to do
  end if;
  if p_ok then
    update public.notification_outbox set status = 'sent', sent_at = p_now, lease_expires_at = null, last_error = null
     where id = p_id;
    return 'sent';
  end if;
  dead := p_permanent or row.attempts >= private.message_max_attempts();
  because := case when not dead then null
                  when not p_permanent then 'retries_exhausted'
                  when not private.has_address((select b from public.bookings b where b.id = row.booking_id)) then 'no_address'
                  else 'refused' end;
  update public.notification_outbox
     set status = case when dead then 'dead' else 'pending' end, dead_because = because,
         lease_expires_at = null,
         last_error = private.scrub_and_cut(coalesce(p_error, 'unknown error'), 500),
         next_attempt_at = p_now + pg_catalog.make_interval(secs => private.backoff_ms(row.attempts + 1, 1000, 3600000, 0) / 1000.0)
   where id = p_id;
  -- A guest without an address is no fault of the pipeline's: recorded, not an error.
  perform private.record_event('notifications', 'notification.failed',
    case when because is null then 'warning' when because = 'no_address' then 'info' else 'error' end,
    pg_catalog.jsonb_build_object('kind', row.kind, 'attempts', row.attempts, 'dead', dead, 'permanent', p_permanent)
      || case when dead then pg_catalog.jsonb_build_object('dead_because', because) else '{}'::jsonb end,
    row.restaurant_id, row.booking_id, p_now);
  return case when dead then 'dead' else 'pending' end;
end $$;

comment on function public.notification_complete(bigint, uuid, boolean, text, timestamptz, boolean) is
  'Record the result of sending a claimed notification, with the lease token its claim returned: sent, or a failure retried with backoff (1 s doubling to an hour; dead after 16 tries, about five hours; ops.resend_dead_messages queues dead ones again). A failure with p_permanent (the sender says the message can never go as it stands: refused by the provider, or no address) is dead at once. Returns the new status; lease_lost (nothing written) when the row has been claimed again since; superseded when a newer message replaced it while the send was out (it still counts as received, unless this reports a failure: then the guest is told again what they are owed). p_now is for tests run by the database owner: through the Data API it must be left out (AS005).';

-- Body as in 20261211000000, with what the guest was told read as the claim reads it.
create or replace function ops.manual_review_queue(p_restaurant_id uuid default null)
returns table (booking_id uuid, reference text, restaurant text, party_size integer, starts_local text,
               reason_code text, reason text, waiting_since timestamptz, free_tables_that_fit jsonb,
               alternatives jsonb, alternatives_note text, guest_was_told text)
language sql stable security definer set search_path = '' as $$
  select b.id, b.reference, r.name, b.party_size,
         pg_catalog.to_char(b.start_at at time zone r.timezone, 'YYYY-MM-DD HH24:MI'),
         pg_catalog.split_part(b.manual_review_reason, ':', 1), b.manual_review_reason,
         (select max(h.created_at) from public.booking_assignment_state_history h
           where h.booking_id = b.id and h.to_state = 'manual_review'),
         -- Tables an operator can take with ops.assign_tables now: none while the stay is outside service hours
         -- (assign_tables would refuse them); else free single tables that seat the party, least waste first,
         -- then free combinations the rules allow (private.table_groups) in which every table is needed —
         -- without any one of them too few seats, or the rest no longer joined; of these the first hundred
         -- found (fewer tables first) are ranked. Ten at most, least waste first.
         case when private.service_hours_problem(b) is not null then '[]'::jsonb else coalesce((
           select pg_catalog.jsonb_agg(o.option order by o.rank, o.option)
             from ((select pg_catalog.jsonb_build_array(t.table_number) as option, t.capacity - b.party_size as rank
                      from private.usable_tables(b.restaurant_id) t
                     where b.party_size between t.min_party_size and t.max_party_size
                       and private.busy_tables(b, array[t.id]) is null
                     order by 2 limit 10)
                   union all
                   (select (select pg_catalog.jsonb_agg(t.table_number order by t.table_number)
                              from public.restaurant_tables t where t.id = any(g.table_ids)),
                           100 * pg_catalog.cardinality(g.table_ids) + g.seats - b.party_size
                      from private.table_groups(b.restaurant_id,
                             (private.settings_for(b.restaurant_id)).max_tables_per_booking) g
                     where g.seats >= b.party_size
                       and private.every_table_needed(b.restaurant_id, g.table_ids, g.seats, b.party_size)
                       and private.busy_tables(b, g.table_ids) is null
                     limit 100)
                   order by 2 limit 10) o), '[]'::jsonb) end,
         x.alternatives,
         private.alternatives_note(x.alternatives),
         -- The last message the guest received (or may have): what they believe until someone tells them
         -- otherwise. Pending ones may never go out.
         coalesce((select pg_catalog.format('%s: %s, party of %s', o.kind, o.payload ->> 'starts_local',
                                            o.payload ->> 'party_size')
                     from public.notification_outbox o
                    where o.booking_id = b.id and private.may_have_reached_guest(o)
                    order by o.seq desc limit 1), 'nothing yet')
    from public.bookings b join public.restaurants r on r.id = b.restaurant_id,
         lateral (select case when private.time_may_cure(b.manual_review_reason)
                              then private.seating_alternatives(b) end as alternatives) x
   where b.assignment_state = 'manual_review' and (p_restaurant_id is null or b.restaurant_id = p_restaurant_id)
   order by b.start_at;
$$;

-- Body as in 20261220010000, counting the confirmations a guest may have received as the claim does.
create or replace function ops.pipeline_metrics(p_from timestamptz default now() - interval '24 hours',
                                            p_to timestamptz default now(), p_restaurant_id uuid default null)
returns jsonb language sql stable security definer set search_path = '' as $$
  with b as (
    select * from public.bookings
     where created_at >= p_from and created_at < p_to and (p_restaurant_id is null or restaurant_id = p_restaurant_id)),
  e as (
    select * from public.observability_events
     where created_at >= p_from and created_at < p_to and (p_restaurant_id is null or restaurant_id = p_restaurant_id)),
  latency as (
    select extract(epoch from c.created_at - b.created_at) * 1000 as ms
      from b join public.booking_assignment_state_history c on c.booking_id = b.id and c.to_state = 'confirmed'
     where c.version = (select min(h.version) from public.booking_assignment_state_history h
                         where h.booking_id = b.id and h.to_state = 'confirmed')),
  -- Lock and slot waits, as begin (start) and commit (confirmation) measured them, on either path.
  waits as (
    select (e.context ->> k)::numeric as ms
      from e, pg_catalog.unnest(array['lock_wait_ms', 'slot_wait_ms']) k
     where e.context ? k
       and e.event_type in ('coordinator.start', 'coordinator.confirmed', 'auto_assign.attempt.start', 'auto_assign.succeeded')),
  attempts as (
    select a.result from public.booking_assignment_attempts a join b on b.id = a.booking_id),
  shadow as (
    select c.experiment, count(*) as comparisons,
           round(100.0 * count(*) filter (where c.primary_decision = 'assign') / count(*), 2) as primary_assign_pct,
           round(100.0 * count(*) filter (where c.candidate_decision = 'assign') / count(*), 2) as candidate_assign_pct,
           round(100.0 * count(*) filter (where c.primary_decision = 'escalate') / count(*), 2) as primary_escalate_pct,
           round(100.0 * count(*) filter (where c.candidate_decision = 'escalate') / count(*), 2) as candidate_escalate_pct,
           round(100.0 * count(*) filter (where c.match = 'same_tables') / count(*), 2) as same_tables_pct,
           round(100.0 * count(*) filter (where c.match = 'different_decision') / count(*), 2) as different_decision_pct,
           count(*) filter (where c.candidate_decision = 'error') as candidate_errors,
           round(avg(c.primary_ms), 3) as primary_avg_ms, round(avg(c.candidate_ms), 3) as candidate_avg_ms
      from public.shadow_comparisons c
     where c.created_at >= p_from and c.created_at < p_to and (p_restaurant_id is null or c.restaurant_id = p_restaurant_id)
     group by c.experiment)
  select pg_catalog.jsonb_build_object(
    'from', p_from, 'to', p_to, 'restaurant_id', p_restaurant_id,
    'bookings', (select count(*) from b),
    'cancelled', (select count(*) from b where assignment_state = 'cancelled'),
    'confirmed', (select count(*) from b where status in ('confirmed', 'checked_in', 'completed', 'no_show')),
    'manual_review', (select count(*) from b where assignment_state = 'manual_review'),
    'confirmation_rate_pct', (select round(100.0 * count(*) filter (where status in ('confirmed', 'checked_in', 'completed', 'no_show'))
                                            / nullif(count(*) filter (where assignment_state <> 'cancelled'), 0), 2) from b),
    -- The plan's own query: status 'confirmed' over every booking made, cancelled, seated and finished ones included.
    'confirmation_rate_plan_pct', (select round(100.0 * count(*) filter (where status = 'confirmed') / nullif(count(*), 0), 2)
                                     from b),
    'manual_review_rate_pct', (select round(100.0 * count(*) filter (where assignment_state = 'manual_review')
                                             / nullif(count(*) filter (where assignment_state <> 'cancelled'), 0), 2) from b),
    'terminal_pct', (select round(100.0 * count(*) filter (where assignment_state in ('confirmed', 'manual_review', 'cancelled'))
                                   / nullif(count(*), 0), 2) from b),
    'attempts', (select count(*) from attempts),
    'success_rate_pct', (select round(100.0 * count(*) filter (where result = 'success') / nullif(count(*), 0), 2) from attempts),
    'error_rate_pct', (select round(100.0 * count(*) filter (where result = 'error') / nullif(count(*), 0), 2) from attempts),
    'latency_ms', (select pg_catalog.jsonb_build_object(
        'p50', round(pg_catalog.percentile_cont(0.5) within group (order by ms)::numeric, 1),
        'p95', round(pg_catalog.percentile_cont(0.95) within group (order by ms)::numeric, 1),
        'p99', round(pg_catalog.percentile_cont(0.99) within group (order by ms)::numeric, 1),
        'n', count(*)) from latency),
    'lock_wait_p95_ms', (select round(pg_catalog.percentile_cont(0.95) within group (order by ms)::numeric, 2) from waits),
    'stuck', (select count(*) from ops.stuck_bookings s where p_restaurant_id is null or s.restaurant_id = p_restaurant_id),
    'duplicate_confirmations', (select count(*) from (
        select o.booking_id from public.notification_outbox o join b on b.id = o.booking_id
         where o.kind = 'booking_confirmed' and private.may_have_reached_guest(o)
         group by o.booking_id having count(*) > 1) d),
    'notifications_sent', (select count(*) from public.notification_outbox o join b on b.id = o.booking_id
                            where o.status = 'sent'),
    -- Event volume: the plan checks state-transition events against the bookings made (±10 %).
    'events', (select pg_catalog.jsonb_build_object(
        'total', count(*),
        'state_transitions', count(*) filter (where source = 'assignment.state_machine'),
        'bookings_with_transitions', count(distinct booking_id) filter (where source = 'assignment.state_machine'
                                                                          and booking_id in (select id from b)),
        'coordinator', count(*) filter (where source = 'assignment.coordinator'),
        'auto_assign', count(*) filter (where source = 'auto_assign')) from e),
    -- The plan's "Compare success rates" query, with its divisions guarded (null when there is nothing to divide).
    'legacy_vs_coordinator', pg_catalog.jsonb_build_object(
      'legacy', (select pg_catalog.jsonb_build_object(
          'successes', count(*) filter (where context ->> 'result' = 'succeeded'), 'total', count(*),
          'success_rate', round(100.0 * count(*) filter (where context ->> 'result' = 'succeeded') / nullif(count(*), 0), 2))
          from e where event_type = 'auto_assign.summary'),
      'coordinator_shadow', (select pg_catalog.jsonb_build_object(
          'successes', count(*) filter (where context ->> 'to' = 'confirmed'), 'total', count(distinct booking_id),
          'success_rate', round(100.0 * count(*) filter (where context ->> 'to' = 'confirmed') / nullif(count(distinct booking_id), 0), 2))
          from e where source = 'assignment.state_machine')),
    'shadow', coalesce((select pg_catalog.jsonb_object_agg(experiment, pg_catalog.to_jsonb(shadow) - 'experiment') from shadow),
                       '{}'::jsonb),
    'circuit_opens', (select count(*) from e where event_type in ('coordinator.circuit_opened', 'auto_assign.circuit_opened')),
    'coordinator_errors', (select count(*) from e where event_type in ('coordinator.error', 'auto_assign.attempt_error')),
    'rate_limited', (select count(*) from e where event_type in ('coordinator.retry', 'auto_assign.retry_scheduled')
                                           and context ->> 'reason' = 'rate_limited'),
    'states', (select pg_catalog.jsonb_object_agg(assignment_state, n) from (
        select assignment_state, count(*) as n from b group by 1) s),
    'modes', (select pg_catalog.jsonb_object_agg(coalesce(assignment_mode, 'none'), n) from (
        select assignment_mode, count(*) as n from b group by 1) m));
$$;

revoke all on all routines in schema private from public, anon, authenticated;

-- Guest messages that cannot go: dead at once, each saying why, and only what an operator should act on is an
-- alarm; health sees messages that do not go long before they are dead; ops.dead_messages lists the dead.
--
-- What was wrong:
--   * the webhook sender posted every message, with `to.email: null` when the booking had no address, and every
--     failure was retried 16 times over about five hours: a provider's 400 or 422 (the message itself refused,
--     say an address it cannot take) was asked again for five hours before an operator could see it;
--   * ops.health counted messages pending and dead and raised only dead ones: a mail provider refusing the
--     pipeline's token (401) or down for an afternoon was retried for hours with health "ok", and a dispatcher
--     with no usable sender (it claims nothing and answers sender_misconfigured) left every message waiting
--     with health "ok";
--   * a dead message did not say whether its retries ran out (an outage: resend once the sender works), the
--     sender refused it (look at the address, or the mailer), or the guest had no address (nothing to do), and
--     nothing of ops said which messages were dead: reading the outbox takes the table's owner.
--
-- Now:
--   * notification_complete takes p_permanent (last, so every call written for the old signature means what
--     it did): a failure the sender calls permanent is dead at once. The webhook sender reports a refusal of
--     the message (400, 413, 422) and a guest without an address that way, and posts nothing for the latter;
--     a problem of the setup (401, 403, 404, 5xx, a timeout) is still retried, so fixing it sends those
--     messages without anyone's help. A null p_ok is refused (it was taken for a failure);
--   * notification_outbox.dead_because: retries_exhausted, refused or no_address, set when the message dies
--     (dead rows from before read as retries_exhausted) and cleared when it is queued again. A message dead
--     for want of an address is an info event, not an error; each failure's event is stamped with the clock
--     the result was recorded by (p_now), as health reads it;
--   * an address is a value with something besides ASCII white space in it (private.has_address), as in the
--     webhook sender: a blank one is none;
--   * ops.health:
--       - dead_resendable, the standing problem, counts only messages whose retries ran out, about bookings
--         still ahead that still describe them and have an address (private.message_is_resendable);
--       - refused_last_hour: refusals are a problem for the hour after (from the notification.failed events),
--         so a mailer that starts refusing every message is seen at once, and one bad address does not keep
--         health degraded until its booking begins;
--       - oldest_due_seconds: how long the oldest message due (pending, or a claim whose lease ran out) has
--         waited; over 2 minutes nothing sends them, or a backlog is draining (the sweeper asks the dispatcher
--         every 5 s while any is due; it sends up to 200 a request);
--       - failing: messages waiting for another try after six failures or more (about a minute of them), with
--         latest_error, the error of the latest failure (it happened its backoff before the next try); scrubbed
--         when stored, it names an answer such as "webhook answered 401", never an address;
--     each count reads the outbox's partial indexes;
--   * ops.resend_dead_messages queues only what can go: dead messages about bookings still ahead that still
--     describe them and have an address;
--   * ops.dead_messages lists the dead messages, soonest booking first, with why they died, the sender's last
--     error and what stands in the way of a resend; it shows whether the booking has an address, never the
--     address.
-- private.has_address and private.message_is_resendable pin no search_path (every name and operator in them is
-- qualified), so the planner inlines them into the queries that call them.
--
-- Bodies as in 20261209060000 (notification_complete_unchecked, resend_dead_messages), 20261209020000 (the
-- public notification_complete) and 20261220010000 (health), with those changes.

drop function public.notification_complete(bigint, uuid, boolean, text, timestamptz);
drop function private.notification_complete_unchecked(bigint, uuid, boolean, text, timestamptz);

alter table public.notification_outbox
  add column dead_because text
    constraint notification_dead_because_is_known check (dead_because in ('retries_exhausted', 'refused', 'no_address')),
  add constraint only_a_dead_notification_says_why check (dead_because is null or status = 'dead');
comment on column public.notification_outbox.dead_because is
  'Why a dead message died: retries_exhausted (an outage; ops.resend_dead_messages once the sender works), refused (the sender said it can never go as it stands), no_address (the booking had no e-mail address). Null when not dead, and for messages that died before it was recorded.';

create function private.has_address(b public.bookings)
returns boolean language sql immutable as $$
  select coalesce(pg_catalog.btrim(b.customer_email, E' \t\n\r\f\x0b') operator(pg_catalog.<>) '', false);
$$;

create function private.message_is_resendable(m public.notification_outbox, b public.bookings, p_now timestamptz)
returns boolean language sql stable as $$
  select m.status operator(pg_catalog.=) 'dead' and b.start_at operator(pg_catalog.>) p_now
     and private.has_address(b) and private.message_is_current(m, b);
$$;

create function private.notification_complete_unchecked(p_id bigint, p_lease_token uuid, p_ok boolean,
                                                        p_error text default null,
                                                        p_now timestamptz default now(),
                                                        p_permanent boolean default false)
returns text language plpgsql security definer set search_path = '' as $$
declare
  row public.notification_outbox;
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
  if row.status <> 'sending' then
    return row.status; -- this claim's result is already recorded: nothing to do
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

create function public.notification_complete(p_id bigint, p_lease_token uuid, p_ok boolean, p_error text default null,
                                             p_now timestamptz default now(), p_permanent boolean default false)
returns text language plpgsql security definer set search_path = '' as $$
begin
  perform private.check_caller_clock(p_now);
  return private.notification_complete_unchecked(p_id, p_lease_token, p_ok, p_error, p_now, p_permanent);
end $$;

comment on function public.notification_complete(bigint, uuid, boolean, text, timestamptz, boolean) is
  'Record the result of sending a claimed notification, with the lease token its claim returned: sent, or a failure retried with backoff (1 s doubling to an hour; dead after 16 tries, about five hours; ops.resend_dead_messages queues dead ones again). A failure with p_permanent (the sender says the message can never go as it stands: refused by the provider, or no address) is dead at once. Returns the new status, or lease_lost (nothing written) when the row has been claimed again since. p_now is for tests run by the database owner: through the Data API it must be left out (AS005).';
comment on function private.notification_complete_unchecked(bigint, uuid, boolean, text, timestamptz, boolean) is
  'The body of public.notification_complete, which checks its arguments and calls this.';

revoke all on function public.notification_complete(bigint, uuid, boolean, text, timestamptz, boolean)
  from public, anon, authenticated, service_role;
grant execute on function public.notification_complete(bigint, uuid, boolean, text, timestamptz, boolean) to service_role;

create or replace function ops.resend_dead_messages(p_actor text, p_reason text, p_restaurant_id uuid default null)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  actor text := private.act_as(p_actor, p_reason);
  queued integer;
  still_dead integer;
begin
  if coalesce(pg_catalog.btrim(p_reason), '') = '' then
    raise exception using errcode = 'AS005', message = 'say why the messages may go now: pass p_reason (what was fixed)';
  end if;
  if p_restaurant_id is not null and not exists (select 1 from public.restaurants where id = p_restaurant_id) then
    raise exception using errcode = 'AS005', message = pg_catalog.format('restaurant %s does not exist', p_restaurant_id);
  end if;
  with again as (
    update public.notification_outbox o
       set status = 'pending', attempts = 0, next_attempt_at = pg_catalog.now(), last_error = null, dead_because = null
      from public.bookings b
     where b.id = o.booking_id and o.status = 'dead'
       and (p_restaurant_id is null or o.restaurant_id = p_restaurant_id)
       and private.message_is_resendable(o, b, pg_catalog.now())
    returning o.id)
  select count(*)::int into queued from again;
  select count(*)::int into still_dead from public.notification_outbox o
   where o.status = 'dead' and (p_restaurant_id is null or o.restaurant_id = p_restaurant_id);
  insert into public.pipeline_settings_audit (actor, database_role, scope, setting, old_value, new_value, reason)
  values (actor,
          case when pg_catalog.current_setting('role') = 'none' then session_user::text
               else pg_catalog.current_setting('role') end,
          coalesce(p_restaurant_id::text, 'global'), 'dead_messages',
          pg_catalog.jsonb_build_object('dead', queued + still_dead),
          pg_catalog.jsonb_build_object('queued', queued, 'dead', still_dead), p_reason);
  perform private.record_event('assignment.ops', 'ops.messages_resent', 'info',
    pg_catalog.jsonb_build_object('queued', queued, 'still_dead', still_dead), p_restaurant_id, null);
  return pg_catalog.jsonb_build_object('queued', queued, 'still_dead', still_dead);
end $$;
comment on function ops.resend_dead_messages(text, text, uuid) is
  'After a sender''s outage: queue again, due now, every dead guest message (of one restaurant, or all) about a booking still ahead that still describes it and has an e-mail address, with its tries counted afresh. p_actor and p_reason are required and recorded in ops.rollout_log. Returns {queued, still_dead}; the dispatcher sends them on its next run (the sweeper starts it within 5 s). The dedupe key is unchanged, so a message the sender did deliver before reporting a failure is not delivered twice by a sender that honours it.';

create or replace function ops.health(p_now timestamptz default now())
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  worker_up boolean := true;
  job record;
  sweeper record;
  sweeper_age numeric;
  dispatch_configured boolean;
  result jsonb;
  problems text[] := '{}'::text[];
begin
  begin
    perform net.check_worker_is_up();
  exception when others then
    worker_up := false;
  end;
  select j.jobid, j.schedule, j.active into job from cron.job j where j.jobname = 'assignment-sweeper';
  select d.status, d.start_time into sweeper
    from cron.job_run_details d where d.jobid = job.jobid and d.start_time <= p_now
   order by d.start_time desc limit 1;
  sweeper_age := round(extract(epoch from p_now - sweeper.start_time));
  select count(*) = 2 into dispatch_configured from vault.decrypted_secrets
   where name in ('assignment_functions_url', 'assignment_pipeline_secret');

  select pg_catalog.jsonb_build_object(
    'checked_at', p_now,
    'mode', (select pg_catalog.jsonb_build_object('default', s.default_mode, 'rollout_percentage', s.rollout_percentage,
                                                  'kill_switch', s.kill_switch, 'shadow_candidate', s.shadow_candidate)
               from private.rollout_settings s),
    'queue_depth', (select count(*) from public.bookings
                     where assignment_state = any(private.queued_states())),
    'due_now', (select count(*) from public.bookings
                 where assignment_state = any(private.queued_states())
                   and next_attempt_at <= p_now),
    'oldest_due_seconds', (select round(extract(epoch from p_now - min(next_attempt_at)))
                             from public.bookings
                            where assignment_state = any(private.queued_states())
                              and next_attempt_at <= p_now),
    'in_progress', (select count(*) from public.bookings where assignment_state = 'assignment_in_progress'),
    'in_progress_by_restaurant', coalesce((select pg_catalog.jsonb_object_agg(restaurant_id, n) from (
        select restaurant_id, count(*) as n from public.bookings
         where assignment_state = 'assignment_in_progress' group by restaurant_id) x), '{}'::jsonb),
    'manual_review', (select count(*) from public.bookings where assignment_state = 'manual_review'),
    -- The plan's rollback triggers: manual review above 10 % of the bookings, a breaker open over 5 minutes.
    'manual_review_last_hour', (select pg_catalog.jsonb_build_object(
        'bookings', count(*) filter (where assignment_state <> 'cancelled'),
        'manual_review', count(*) filter (where assignment_state = 'manual_review'))
        from public.bookings where created_at > p_now - interval '1 hour'),
    'stuck', (select count(*) from ops.stuck_bookings),
    -- Seated parties whose longer stay could not be held: found from the event each such change records,
    -- and counted while the overlap lasts: moving the next booking, the party leaving, or the stay's end
    -- clears it.
    'seated_stays_overlapping', (select count(*) from public.bookings s
        where s.id in (select e.booking_id from public.observability_events e
                        where e.source = 'assignment.ops' and e.event_type = 'booking.seated_stay_overlaps'
                          and e.created_at > p_now - interval '1 day' and e.created_at <= p_now)
          and s.status = 'checked_in' and s.end_at > p_now
          and exists (select 1 from public.booking_table_assignments mine
                        join public.booking_table_assignments other
                          on other.table_id = mine.table_id and other.released_at is null
                         and other.booking_id <> s.id and other.during && private.blocked_window(s)
                       where mine.booking_id = s.id and mine.released_at is null)),
    'open_breakers', coalesce((select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
        'restaurant_id', c.restaurant_id, 'state', c.state, 'since', c.opened_at, 'failures', c.consecutive_failures))
        from private.circuit_breakers c where c.state <> 'closed'), '[]'::jsonb),
    'dispatch', pg_catalog.jsonb_build_object(
      'configured', dispatch_configured,
      'pg_net_worker_up', worker_up,
      'queued_requests', (select count(*) from net.http_request_queue),
      'failed_last_15_min', (select count(*) from net._http_response
                              where created > p_now - interval '15 minutes'
                                and (status_code is null or status_code >= 500)),
      'refused_last_15_min', (select count(*) from net._http_response
                               where created > p_now - interval '15 minutes' and status_code in (401, 403, 404)),
      'last_response_at', (select max(created) from net._http_response)),
    'sweeper', pg_catalog.jsonb_build_object(
      'scheduled', job.jobid is not null, 'active', coalesce(job.active, false), 'schedule', job.schedule,
      'last_status', sweeper.status, 'last_start', sweeper.start_time, 'seconds_since_last_start', sweeper_age,
      'alive', coalesce(job.active, false) and sweeper_age <= 120 and sweeper.status is distinct from 'failed'),
    -- The outbox keeps every message ever sent: each count reads only its rows, through a partial index.
    'notifications', pg_catalog.jsonb_build_object(
        'pending', (select count(*) from public.notification_outbox o where o.status in ('pending', 'sending')),
        -- Due and not taken: nothing is dispatching them (no dispatcher, or one without a usable sender).
        'oldest_due_seconds', (select round(extract(epoch from p_now - min(due.at)))
                                 from public.notification_outbox o,
                                      lateral (select case when o.status = 'pending' then o.next_attempt_at
                                                           else o.lease_expires_at end as at) due
                                where o.status in ('pending', 'sending') and due.at <= p_now),
        -- Waiting after six failures or more (about a minute of them) for another try: the sender is failing.
        'failing', (select count(*) from public.notification_outbox o
                     where o.status = 'pending' and o.attempts >= 6
                       and o.last_error is not null),
        -- The error of the latest failure: it happened its backoff before the next try.
        'latest_error', (select o.last_error from public.notification_outbox o
                          where o.status = 'pending' and o.attempts >= 6
                            and o.last_error is not null
                          order by o.next_attempt_at
                                   - pg_catalog.make_interval(secs => private.backoff_ms(o.attempts + 1, 1000, 3600000, 0) / 1000.0) desc,
                                   o.id desc
                          limit 1),
        'dead', (select count(*) from public.notification_outbox o where o.status = 'dead'),
        -- Dead of an outage (their retries ran out): a resend once the sender works sends them.
        'dead_resendable', (select count(*) from public.notification_outbox d join public.bookings b on b.id = d.booking_id
                             where d.status = 'dead' and coalesce(d.dead_because, 'retries_exhausted') = 'retries_exhausted'
                               and private.message_is_resendable(d, b, p_now)),
        -- Refused by the sender for good (an address it cannot take, or a change on its side): a problem for
        -- the hour after, so an operator sees it without one bad address degrading health for weeks.
        'refused_last_hour', (select count(*) from public.observability_events e
                               where e.source = 'notifications' and e.event_type = 'notification.failed'
                                 and e.created_at > p_now - interval '1 hour' and e.created_at <= p_now
                                 and e.context ->> 'dead_because' = 'refused'))
  ) into result;

  if not worker_up then problems := pg_catalog.array_append(problems, 'pg_net worker is down'); end if;
  if not dispatch_configured then problems := pg_catalog.array_append(problems, 'dispatch URL/secret missing from Vault'); end if;
  if (result -> 'dispatch' ->> 'refused_last_15_min')::int > 0 then
    problems := pg_catalog.array_append(problems,
      'dispatches are refused (401/403/404): check assignment_functions_url and assignment_pipeline_secret in Vault against the functions'' URL and ASSIGNMENT_PIPELINE_SECRET');
  end if;
  if job.jobid is null or not job.active then
    problems := pg_catalog.array_append(problems, 'sweeper is not scheduled (cron job assignment-sweeper missing or inactive)');
  elsif sweeper.start_time is null then
    problems := pg_catalog.array_append(problems, 'sweeper has never run');
  elsif sweeper_age > 120 then
    problems := pg_catalog.array_append(problems, pg_catalog.format('sweeper has not started for %s s', sweeper_age));
  elsif sweeper.status = 'failed' then
    problems := pg_catalog.array_append(problems, 'sweeper''s last run failed (see cron.job_run_details)');
  end if;
  if (result ->> 'stuck')::int > 0 then problems := pg_catalog.array_append(problems, 'stuck bookings'); end if;
  if (result ->> 'seated_stays_overlapping')::int > 0 then
    problems := pg_catalog.array_append(problems,
      'a seated party''s longer stay overlaps the next booking on its tables: give that booking other tables (ops.assign_tables)');
  end if;
  if pg_catalog.jsonb_array_length(result -> 'open_breakers') > 0 then problems := pg_catalog.array_append(problems, 'open circuit breakers'); end if;
  if exists (select 1 from private.circuit_breakers c where c.state = 'open' and c.opened_at < p_now - interval '5 minutes') then
    problems := pg_catalog.array_append(problems,
      'a circuit breaker has been open for more than 5 minutes (the rollout plan''s rollback trigger)');
  end if;
  -- Judged once the hour holds enough bookings for a share to mean something.
  if (result -> 'manual_review_last_hour' ->> 'bookings')::int >= 20
     and (result -> 'manual_review_last_hour' ->> 'manual_review')::int * 10
         > (result -> 'manual_review_last_hour' ->> 'bookings')::int then
    problems := pg_catalog.array_append(problems,
      'manual review above 10 % of the last hour''s bookings (the rollout plan''s rollback trigger)');
  end if;
  if coalesce((result ->> 'oldest_due_seconds')::int, 0) > 120 then problems := pg_catalog.array_append(problems, 'queue is falling behind'); end if;
  if coalesce((result -> 'notifications' ->> 'oldest_due_seconds')::int, 0) > 120 then
    problems := pg_catalog.array_append(problems,
      'guest messages have been due for over 2 minutes: if notifications.pending does not fall, nothing is sending them (is the notification-dispatcher function deployed with a usable NOTIFICATION_SENDER? it answers sender_misconfigured otherwise); if it falls, a backlog is draining');
  end if;
  if (result -> 'notifications' ->> 'failing')::int > 0 then
    problems := pg_catalog.array_append(problems, pg_catalog.format(
      'guest messages keep failing to send (%s waiting after six tries or more, the latest error: %s); they are retried for about five hours, then dead',
      result -> 'notifications' ->> 'failing', result -> 'notifications' ->> 'latest_error'));
  end if;
  if (result -> 'notifications' ->> 'refused_last_hour')::int > 0 then
    problems := pg_catalog.array_append(problems, pg_catalog.format(
      'the mail sender refused %s guest messages in the last hour, each dead at once: ops.dead_messages says why (an address it cannot take, or a change on its side); ops.resend_dead_messages sends them again once fixed',
      result -> 'notifications' ->> 'refused_last_hour'));
  end if;
  if (result -> 'notifications' ->> 'dead_resendable')::int > 0 then
    problems := pg_catalog.array_append(problems,
      'dead notifications about bookings still ahead: once the sender works, ops.resend_dead_messages queues them again');
  end if;
  return pg_catalog.jsonb_build_object(
    'status', case when not worker_up or not dispatch_configured
                        or (result -> 'dispatch' ->> 'refused_last_15_min')::int > 0 then 'down'
                   when pg_catalog.cardinality(problems) > 0 then 'degraded' else 'ok' end,
    'problems', pg_catalog.to_jsonb(problems)) || result;
end $$;

comment on function ops.health(timestamptz) is
  'One-line pipeline health: status ok | degraded | down with the problems found, queue depth, oldest due booking, in-progress counts, open breakers, pg_net worker and dispatch configuration (a dispatch refused with 401/403/404 is a configuration problem: down), seated parties whose longer stay overlaps the next booking on their tables (seated_stays_overlapping: a problem until that booking is moved or the party leaves), sweeper liveness (scheduled, active, a run started in the last 2 minutes, last run not failed), guest messages (pending; oldest_due_seconds, a problem over 2 minutes: nothing sends them, or a backlog is draining; failing, those waiting for another try after six failures or more, a problem, with latest_error, the latest failure''s error; refused_last_hour, messages the sender refused for good, a problem for the hour after; dead: every dead message; dead_resendable: those whose retries ran out, about bookings still ahead, that ops.resend_dead_messages would queue, a problem), and the rollout plan''s rollback triggers: a breaker open over 5 minutes, manual review above 10 % of the last hour''s bookings (judged from 20 bookings). p_now is for tests.';


create function ops.dead_messages(p_restaurant_id uuid default null)
returns table (message_id bigint, booking_id uuid, reference text, restaurant text, starts_local text, kind text,
               attempts integer, dead_because text, last_error text, has_address boolean, resendable boolean,
               not_resendable_because text)
language sql stable security definer set search_path = '' as $$
  select o.id, b.id, b.reference, r.name,
         pg_catalog.to_char(b.start_at at time zone r.timezone, 'YYYY-MM-DD HH24:MI'),
         o.kind, o.attempts, coalesce(o.dead_because, 'retries_exhausted'), o.last_error, private.has_address(b),
         private.message_is_resendable(o, b, pg_catalog.now()),
         case when b.start_at <= pg_catalog.now() then 'the booking has begun'
              when not private.message_is_current(o, b) then 'the booking changed since: a newer message or none is due'
              when not private.has_address(b) then 'the booking has no e-mail address'
         end
    from public.notification_outbox o
    join public.bookings b on b.id = o.booking_id
    join public.restaurants r on r.id = b.restaurant_id
   where o.status = 'dead' and (p_restaurant_id is null or o.restaurant_id = p_restaurant_id)
   order by b.start_at, o.id;
$$;
comment on function ops.dead_messages(uuid) is
  'Dead guest messages (of one restaurant, or all), soonest booking first: the kind, tries, why it died (dead_because: retries_exhausted, refused or no_address), the sender''s last error, whether the booking has an e-mail address (never the address), whether ops.resend_dead_messages would queue it, and if not, why (the booking has begun, it changed since, or it has no address).';
revoke all on function ops.dead_messages(uuid) from public, anon, authenticated;
grant execute on function ops.dead_messages(uuid) to service_role;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;

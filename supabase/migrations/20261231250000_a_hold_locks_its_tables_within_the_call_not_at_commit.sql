-- A hold locks its tables' rows within the call that writes it, not at commit.
--
-- A hold's reference to its table is checked when the transaction commits (deferred since 20261210150000, so a
-- restaurant can be deleted with everything of it). That check locks the table's row (FOR KEY SHARE) after the
-- RPC has returned, when its lock_timeout of 5 s no longer applies, with the session's: none. A commit that held
-- a table a platform was deleting in a transaction still open (a floor-plan sync) therefore waited at its end
-- for as long as that transaction stayed open, holding the restaurant lock all the while, so every lease and
-- commit of the restaurant gave up as restaurant_locked, and a platform that then wrote the committing booking
-- deadlocked with it (one of the two aborted, 40P01). Found by an attacker's review of lock order.
--
-- Now a statement that writes holds locks the rows of their tables before it ends, waiting at most 50 ms (as
-- a re-optimising commit waits for the rows of the bookings it moves): a table being deleted is a lost race
-- (55P03), and one already gone is refused as the check at commit would refuse it (23503): to the coordinator
-- both are a race, the attempt retried with backoff and never counted by the breaker; an operator's call
-- (ops.assign_tables, ops.accept_alternative) gets Postgres's error, to try again. The check at commit then
-- finds the lock held. The rows are locked FOR KEY SHARE, as the check locks them, so holds never wait for each
-- other or for a change to a table's seats or state, only for its deletion or a new table number (a key).
--
-- The guest-message calls still wait as the session does (20261224000000): a report of a message sent that
-- gave up would leave the message to go again, and its wait ends with the transaction it waits for, or with
-- the function's wall-clock limit, after which the statement still records the result once it gets the lock.

create function private.lock_tables_held()
returns trigger language plpgsql security definer set search_path = '' set lock_timeout = '50ms' as $$
declare
  wanted integer;
  locked integer;
begin
  select count(*) into wanted from (select distinct n.restaurant_id, n.table_id from new_rows n) w;
  with held as (
    select t.id from public.restaurant_tables t
     where (t.restaurant_id, t.id) in (select n.restaurant_id, n.table_id from new_rows n)
       for key share)
  select count(*) into locked from held;
  if locked < wanted then
    raise exception using errcode = 'foreign_key_violation',
      message = 'a table to hold was deleted meanwhile';
  end if;
  return null;
end $$;

create trigger lock_tables_held
  after insert on public.booking_table_assignments
  referencing new table as new_rows
  for each statement execute function private.lock_tables_held();

revoke all on all routines in schema private from public, anon, authenticated;

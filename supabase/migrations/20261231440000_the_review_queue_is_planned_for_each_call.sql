-- The review queue is planned for each call's bound. Its start bound is a variable so that the plan is made
-- knowing it (20261231400000), but PL/pgSQL plans a statement for its values only for about its first five
-- calls in a session; a pooled connection then keeps a generic plan, which cannot tell how much of
-- bookings_in_review_idx the bound leaves. Planning each call costs a few milliseconds on a read operators
-- make by hand.
alter function ops.manual_review_queue(uuid, boolean, integer, integer) set plan_cache_mode = force_custom_plan;

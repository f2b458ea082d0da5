-- The SQL of one stock_reserve (one line), run raw by pgbench for comparison with the service and
-- the HTTP endpoint: lock the level, sum its live holds, insert the hold, read the variant's
-- available per location, and write the outbox event (sequence upsert and event row) that the
-- service records in the same transaction.
-- Variables: :first_level, :levels (the bench's contiguous stock level ids).
\set level random(:first_level, :first_level + :levels - 1)
BEGIN;
SELECT id, on_hand, committed, safety_stock FROM inventory_stocklevel WHERE id = :level FOR UPDATE;
SELECT COALESCE(SUM(quantity), 0) FROM inventory_stockhold
  WHERE stock_id = :level AND status = 'active' AND expires_at > now();
INSERT INTO inventory_stockhold (stock_id, quantity, reference, status, expires_at, created_at, updated_at)
  VALUES (:level, 1, 'pgbench', 'active', now() + interval '1 hour', now(), now());
-- the variant's available-to-sell per active location, read under the lock for stock.changed
SELECT l.location_id, loc.code, v.sku,
       l.on_hand - l.committed - l.safety_stock - COALESCE((SELECT SUM(h.quantity)
         FROM inventory_stockhold h WHERE h.stock_id = l.id AND h.status = 'active'
         AND h.expires_at > now()), 0) AS available
  FROM inventory_stocklevel l
  JOIN inventory_location loc ON loc.id = l.location_id
  JOIN catalog_variant v ON v.id = l.variant_id
  WHERE l.variant_id = (SELECT variant_id FROM inventory_stocklevel WHERE id = :level)
    AND loc.is_active;
INSERT INTO outbox_objectsequence (aggregate, aggregate_id, last) VALUES ('variant', :level::text, 1)
  ON CONFLICT (aggregate, aggregate_id) DO UPDATE SET last = outbox_objectsequence.last + 1;
INSERT INTO outbox_changeevent (topic, aggregate, aggregate_id, sequence, channel_code, payload, created_at)
  VALUES ('stock.changed', 'pgbench', :level::text, 1, '', '{}'::jsonb, now());
COMMIT;

DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
DROP TABLE workshop_sold_out;
DROP FUNCTION event_type_matches(TEXT[], TEXT);
DROP TABLE events;

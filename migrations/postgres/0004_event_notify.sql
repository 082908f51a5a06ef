-- Wake every node's publisher when an event commits (NOTIFY is delivered at commit).
CREATE FUNCTION omnikb_notify_event() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('omnikb_events', NEW.seq::text);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER events_notify AFTER INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION omnikb_notify_event();

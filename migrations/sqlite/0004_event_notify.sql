-- PostgreSQL adds a NOTIFY trigger on events in this version; SQLite runs one node, whose
-- publisher is woken in-process. Kept so both backends share migration numbers.
SELECT 1;

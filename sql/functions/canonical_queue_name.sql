-- Canonical name of a queue: the old service's names (money-queue, ...) are aliases.
CREATE OR REPLACE FUNCTION queue.canonical_queue_name(name text)
    RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN regexp_replace(name, '-queue$', '');

-- Wake the workers of a queue, as procrastinate's insert trigger does.
CREATE OR REPLACE FUNCTION queue.wake_workers(queue_name text)
    RETURNS void
    LANGUAGE sql VOLATILE
RETURN pg_notify('procrastinate_queue_v1#' || queue_name, '{"type": "job_inserted", "job_id": null}');
-- Only the service role runs these; queue_producer and queue_reader have USAGE
-- on the schema, so PUBLIC's default EXECUTE must go.
REVOKE ALL ON FUNCTION queue.wake_workers(text) FROM PUBLIC;

-- A moment for a person: ISO 8601 in UTC and how far from now,
-- "2026-11-26T14:05:00Z (in 4 min 10 s)".
CREATE OR REPLACE FUNCTION queue.describe_moment(moment timestamptz)
    RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
RETURN to_char(moment AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || (
    WITH d(s) AS (SELECT abs(extract(epoch FROM moment - now())))
    SELECT CASE WHEN moment >= now() THEN ' (in ' ELSE ' (' END
        || CASE
            WHEN d.s < 60 THEN format('%s s', ceil(d.s))
            WHEN d.s < 3600 THEN format('%s min %s s', floor(d.s / 60), floor(mod(d.s, 60)))
            WHEN d.s < 86400 THEN format('%s h %s min', floor(d.s / 3600), floor(mod(d.s, 3600) / 60))
            ELSE format('%s d %s h', floor(d.s / 86400), floor(mod(d.s, 86400) / 3600))
           END
        || CASE WHEN moment >= now() THEN ')' ELSE ' ago)' END
    FROM d
);
REVOKE ALL ON FUNCTION queue.describe_moment(timestamptz) FROM PUBLIC;

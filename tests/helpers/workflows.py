"""Dependencies and batches driven from SQL, as a worker would: claim, then finish."""

import threading
from collections.abc import Callable
from typing import TypeVar

import psycopg
from psycopg.types.json import Jsonb

T = TypeVar("T")

# analytics-track keeps no succeeded job (keep_succeeded 0): a finished
# dependency is gone, and only its outcome row says it succeeded.
TRACK = {"queue": "background", "job_type": "analytics-track"}


def track(name: str, **fields: object) -> dict[str, object]:
    """An analytics-track job named `name` (its eventType), with extra enqueue fields."""
    return {**TRACK, "data": {"eventType": name}, **fields}


def sql_worker(conn: psycopg.Connection) -> int:
    """Register a worker row and return its id."""
    return conn.execute(
        "INSERT INTO procrastinate_workers DEFAULT VALUES RETURNING id"
    ).fetchone()[0]


def enqueue_many(conn: psycopg.Connection, jobs: list[dict[str, object]]) -> list[int]:
    """Enqueue through queue.enqueue_many; return the job ids in input order."""
    return [
        row[0]
        for row in conn.execute(
            "SELECT job_id FROM queue.enqueue_many(%s) ORDER BY job_index",
            (Jsonb(jobs),),
        )
    ]


def claim(
    conn: psycopg.Connection, worker: int, queue: str = "background"
) -> list[int]:
    """Claim every job of `queue` a claim may take now; return their ids, sorted."""
    return sorted(
        row[0]
        for row in conn.execute(
            "SELECT id FROM queue.fetch_jobs(%s, %s, 1000)", (queue, worker)
        )
    )


def finish(conn: psycopg.Connection, worker: int, outcomes: dict[int, str]) -> int:
    """Finish claimed jobs with these final statuses through queue.finish_jobs."""
    ids = list(outcomes)
    statuses = [outcomes[i] for i in ids]
    return conn.execute(
        "SELECT queue.finish_jobs(%s, %s::procrastinate_job_status[],"
        " array_fill(NULL::text, ARRAY[%s]), array_fill(NULL::text, ARRAY[%s]),"
        " array_fill(NULL::jsonb, ARRAY[%s]), array_fill(now(), ARRAY[%s]),"
        " array_fill(now(), ARRAY[%s]), array_fill(%s::bigint, ARRAY[%s]))",
        (ids, statuses, *([len(ids)] * 5), worker, len(ids)),
    ).fetchone()[0]


def states(conn: psycopg.Connection, ids: list[int]) -> list[str]:
    """The status of each job (gone: 'gone'), in the order of `ids`."""
    found = dict(
        conn.execute(
            "SELECT id, CASE WHEN status = 'todo' AND scheduled_at = 'infinity' THEN 'held'"
            " ELSE status::text END"
            " FROM procrastinate_jobs WHERE id = ANY(%s)",
            (ids,),
        ).fetchall()
    )
    return [found.get(i, "gone") for i in ids]


def at_once(
    dsn: str, sessions: int, work: Callable[[psycopg.Connection, int], T]
) -> list[T]:
    """Run `work(session, n)` in `sessions` threads, each on its own connection,
    released together; return their results in order, or raise the first error."""
    start = threading.Barrier(sessions)
    results: list[T | None] = [None] * sessions
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            with psycopg.connect(dsn, autocommit=True) as session:
                start.wait()
                results[n] = work(session, n)
        except BaseException as exc:
            errors.append(exc)
            start.abort()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results  # type: ignore[return-value]

"""Per-key concurrency: at most key_concurrency running jobs per key, claimed round-robin."""

import threading
from collections import Counter, defaultdict

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.helpers.workers import (
    prepare_test_tasks,
    query,
    wait_for,
    worker_process,
    workers_registered,
)

RUNNING_BY_KEY = (
    "SELECT args -> 'meta' ->> 'concurrency_key', count(*) FROM procrastinate_jobs"
    " WHERE queue_name = %s AND status = 'doing' GROUP BY 1"
)


def _worker(conn):
    (worker,) = conn.execute(
        "INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now()) RETURNING id"
    ).fetchone()
    return worker


def _add_jobs(conn, queue, key, count, *, priority=5, lock=None, scheduled_at=None):
    """Insert `count` waiting jobs of `key` (None: no key); return their ids in order."""
    meta = {} if key is None else {"concurrency_key": key}
    rows = conn.execute(
        "INSERT INTO procrastinate_jobs (queue_name, task_name, priority, lock, scheduled_at, args)"
        " SELECT %s, 'analytics-track', %s::integer, %s::text, %s::timestamptz,"
        "        jsonb_build_object('data', jsonb_build_object('n', n), 'meta', %s::jsonb)"
        " FROM generate_series(1, %s::integer) AS n ORDER BY n RETURNING id",
        (queue, priority, lock, scheduled_at, Jsonb(meta), count),
    ).fetchall()
    return [job_id for (job_id,) in rows]


def _limit(conn, queue, per_key):
    conn.execute(
        "UPDATE queue.queues SET key_concurrency = %s WHERE name = %s",
        (per_key, queue),
    )


def _claim(conn, queue, worker, max_jobs):
    return conn.execute(
        "SELECT id, args -> 'meta' ->> 'concurrency_key', priority"
        " FROM queue.fetch_jobs(%s, %s, %s)",
        (queue, worker, max_jobs),
    ).fetchall()


def _running(conn, queue):
    return dict(conn.execute(RUNNING_BY_KEY, (queue,)).fetchall())


def _finish(conn, job_ids):
    conn.execute(
        "UPDATE procrastinate_jobs SET status = 'succeeded' WHERE id = ANY(%s)",
        (job_ids,),
    )


# Claims straight from SQL


def test_one_burst_key_does_not_starve_the_others_in_one_claim(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        worker = _worker(conn)
        _limit(conn, "background", 5)
        # The burst first: by id alone it would fill every batch.
        _add_jobs(conn, "background", "burst", 500)
        for n in range(20):
            _add_jobs(conn, "background", f"small:{n}", 3)
        conn.execute("ANALYZE procrastinate_jobs")

        first = _claim(conn, "background", worker, 21)
        second = _claim(conn, "background", worker, 21)
        running = _running(conn, "background")

    expected = {"burst", *(f"small:{n}" for n in range(20))}
    assert Counter(key for _, key, _ in first) == Counter(expected)
    # The next claim goes round again: each key's second job.
    assert Counter(key for _, key, _ in second) == Counter(expected)
    assert running == dict.fromkeys(expected, 2)


def test_a_batch_takes_every_key_first_job_before_any_second_then_priority_and_id(
    db_dsn,
):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        worker = _worker(conn)
        _limit(conn, "background", 10)
        a = _add_jobs(conn, "background", "a", 4, priority=1)
        b = _add_jobs(conn, "background", "b", 4, priority=9)
        c = _add_jobs(conn, "background", "c", 4, priority=5)
        free = _add_jobs(conn, "background", None, 4, priority=5)
        higher_a = _add_jobs(conn, "background", "a", 1, priority=7)

        # Four groups (three keys and the jobs without one): one of each,
        # the highest-priority first jobs winning the three places.
        three = [job_id for job_id, _, _ in _claim(conn, "background", worker, 3)]
        conn.execute(
            "UPDATE procrastinate_jobs SET status = 'todo', worker_id = NULL WHERE status = 'doing'"
        )
        six = [job_id for job_id, _, _ in _claim(conn, "background", worker, 6)]

    assert sorted(three) == sorted([b[0], higher_a[0], c[0]])
    # First turn: b (9), a's priority-7 job, then c and the free group at 5 by
    # id. Second turn: b's (9), then c's (5, an earlier id than the free
    # group's); a's priority-1 job comes after both.
    assert sorted(six) == sorted([b[0], higher_a[0], c[0], free[0], b[1], c[1]])
    assert a[0] not in six


def test_no_key_runs_more_than_its_limit_and_a_lowered_limit_claims_none(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        worker = _worker(conn)
        _limit(conn, "background", 3)
        _add_jobs(conn, "background", "venue:1", 10)
        _add_jobs(conn, "background", "venue:2", 10)

        claimed = _claim(conn, "background", worker, 100)
        again = _claim(conn, "background", worker, 100)
        _limit(conn, "background", 1)
        lowered = _claim(conn, "background", worker, 100)
        running = _running(conn, "background")

    assert Counter(key for _, key, _ in claimed) == {"venue:1": 3, "venue:2": 3}
    assert again == []
    assert lowered == []
    assert running == {"venue:1": 3, "venue:2": 3}


def test_jobs_without_a_key_in_a_keyed_queue_are_claimed_without_a_limit(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        worker = _worker(conn)
        _limit(conn, "background", 1)
        free = _add_jobs(conn, "background", None, 5)
        keyed = _add_jobs(conn, "background", "k", 5)

        claimed = {job_id for job_id, _, _ in _claim(conn, "background", worker, 100)}

    assert claimed == {*free, keyed[0]}


def test_a_paused_keyed_queue_claims_nothing(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        worker = _worker(conn)
        _limit(conn, "background", 2)
        _add_jobs(conn, "background", "k", 3)
        _add_jobs(conn, "background", None, 3)
        conn.execute("UPDATE queue.queues SET paused = true WHERE name = 'background'")
        paused = _claim(conn, "background", worker, 10)
        conn.execute("UPDATE queue.queues SET paused = false WHERE name = 'background'")
        resumed = _claim(conn, "background", worker, 10)

    assert paused == []
    assert len(resumed) == 5


def test_the_keyed_claim_keeps_the_lock_rule(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        worker = _worker(conn)
        _limit(conn, "background", 5)
        # Two jobs of one lock in one key: the later waits for the earlier.
        first, later = _add_jobs(conn, "background", "k", 2, lock="L")
        # Of two waiting jobs of lock M in two keys, the higher-priority one
        # goes first, although it came second.
        blocked = _add_jobs(conn, "background", "k2", 1, lock="M")
        ahead = _add_jobs(conn, "background", "k3", 1, lock="M", priority=9)
        # A job whose lock a running job (elsewhere) holds waits too.
        conn.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, lock, status, worker_id)"
            " VALUES ('money', 'refund-process', 'R', 'doing', %s)",
            (worker,),
        )
        held = _add_jobs(conn, "background", None, 1, lock="R")
        free = _add_jobs(conn, "background", "k", 1)

        claimed = {job_id for job_id, _, _ in _claim(conn, "background", worker, 100)}
        _finish(conn, [first])
        after = {job_id for job_id, _, _ in _claim(conn, "background", worker, 100)}

    assert claimed == {first, *ahead, *free}
    assert later not in claimed and blocked[0] not in claimed
    assert held[0] not in claimed
    assert later in after


def test_only_due_jobs_are_claimed_and_held_ones_never(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        worker = _worker(conn)
        _limit(conn, "background", 5)
        held = _add_jobs(conn, "background", "k", 2, scheduled_at="infinity")
        later = _add_jobs(
            conn, "background", "k", 1, scheduled_at="2999-01-01T00:00:00Z"
        )
        held_free = _add_jobs(conn, "background", None, 1, scheduled_at="infinity")
        due = _add_jobs(conn, "background", "k", 1, scheduled_at="2000-01-01T00:00:00Z")
        now = _add_jobs(conn, "background", "k", 1)

        claimed = {job_id for job_id, _, _ in _claim(conn, "background", worker, 100)}
        again = _claim(conn, "background", worker, 100)

    assert claimed == {*due, *now}
    assert not claimed & {*held, *later, *held_free}
    assert again == []


def test_concurrent_claims_never_run_more_than_the_limit_per_key(db_dsn):
    """Claims from many connections at the same instant, round after round.

    New jobs that go first arrive during each race: a claim that missed a
    concurrent claim's jobs would take them as well as the ones it chose.
    """
    per_key, keys, claimers, rounds = 2, 8, 6, 30
    names = [f"key:{n}" for n in range(keys)]
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        worker = _worker(conn)
        _limit(conn, "background", per_key)
        for name in names:
            _add_jobs(conn, "background", name, per_key * rounds)
        conn.execute("ANALYZE procrastinate_jobs")

    # The claimers, the producer and this thread.
    barrier = threading.Barrier(claimers + 2)
    claimed_by_round: list[list[tuple[int, str]]] = [[] for _ in range(rounds)]
    failures: list[BaseException] = []
    lock = threading.Lock()

    def claim_rounds():
        try:
            with psycopg.connect(db_dsn, autocommit=True) as conn:
                # Plan the claim before the race, so all start alike.
                _claim(conn, "background", worker, 0)
                for round_ in range(rounds):
                    barrier.wait(timeout=30)
                    rows = _claim(conn, "background", worker, 100)
                    with lock:
                        claimed_by_round[round_].extend((i, k) for i, k, _ in rows)
                    barrier.wait(timeout=30)
        except BaseException as exc:
            failures.append(exc)
            barrier.abort()

    def produce_rounds():
        try:
            with psycopg.connect(db_dsn, autocommit=True) as conn:
                for round_ in range(rounds):
                    barrier.wait(timeout=30)
                    for name in names:
                        _add_jobs(conn, "background", name, 1, priority=10 + round_)
                    barrier.wait(timeout=30)
        except BaseException as exc:
            failures.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=claim_rounds) for _ in range(claimers)]
    threads.append(threading.Thread(target=produce_rounds))
    for thread in threads:
        thread.start()
    most_running: Counter[str] = Counter()
    try:
        with psycopg.connect(db_dsn, autocommit=True) as conn:
            for round_ in range(rounds):
                barrier.wait(timeout=30)  # the claims race
                barrier.wait(timeout=30)  # all have claimed
                for key, count in _running(conn, "background").items():
                    most_running[key] = max(most_running[key], count)
                # Free the keys again for the next round.
                _finish(conn, [job_id for job_id, _ in claimed_by_round[round_]])
    finally:
        for thread in threads:
            thread.join(timeout=30)

    assert not failures, failures
    assert most_running == dict.fromkeys(names, per_key)
    for claimed in claimed_by_round:
        assert Counter(key for _, key in claimed) == dict.fromkeys(names, per_key)


def test_a_keyed_claim_waits_for_a_concurrent_one_and_sees_what_it_claimed(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        worker = _worker(conn)
        _limit(conn, "background", 2)
        first_two = _add_jobs(conn, "background", "k", 3)[:2]
        with psycopg.connect(db_dsn) as holder:
            held = [row[0] for row in _claim(holder, "background", worker, 10)]
            # Goes first; committed while the first claim is not.
            _add_jobs(conn, "background", "k", 1, priority=9)
            second: list[list[tuple[int, str, int]]] = []
            claimer = threading.Thread(
                target=lambda: second.append(
                    query(
                        db_dsn,
                        "SELECT id, args -> 'meta' ->> 'concurrency_key', priority"
                        " FROM queue.fetch_jobs('background', %s, 10)",
                        (worker,),
                    )
                )
            )
            claimer.start()
            wait_for(
                lambda: (
                    query(
                        db_dsn,
                        "SELECT count(*) FROM pg_locks"
                        " WHERE locktype = 'advisory' AND NOT granted",
                    )
                    == [(1,)]
                ),
                what="the second claim to wait for the first",
            )
            waited = claimer.is_alive()
            holder.commit()
        claimer.join(timeout=30)
        running = _running(conn, "background")

    assert held == first_two
    assert waited
    # It saw the two running jobs: no room for the new one.
    assert second == [[]]
    assert running == {"k": 2}


def _reads(conn):
    """Rows read so far from procrastinate_jobs and its indexes, and its sequential scans."""
    conn.execute("SELECT pg_stat_force_next_flush()")
    (index_reads,) = conn.execute(
        "SELECT coalesce(sum(idx_tup_read), 0) FROM pg_stat_user_indexes"
        " WHERE relname = 'procrastinate_jobs'"
    ).fetchone()
    (seq_scans, heap_fetches) = conn.execute(
        "SELECT seq_scan, idx_tup_fetch FROM pg_stat_user_tables"
        " WHERE relname = 'procrastinate_jobs'"
    ).fetchone()
    return int(index_reads) + int(heap_fetches), int(seq_scans)


def test_the_keyed_claim_reads_its_keys_and_batch_whatever_the_backlog(db_dsn):
    # Two keyed queues alike but for the burst key's backlog: 1,000 and
    # 50,000 waiting jobs. Neither has jobs without a key, the case where a
    # claim through the queue's claim index would read the whole backlog to
    # look for them.
    backlogs = {"background": 1_000, "money": 50_000}
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        worker = _worker(conn)
        for queue, backlog in backlogs.items():
            _limit(conn, queue, 4)
            _add_jobs(conn, queue, "burst", backlog)
            for n in range(20):
                _add_jobs(conn, queue, f"small:{n}", 3)
        conn.execute("ANALYZE procrastinate_jobs")
        # The session's plans are made before anything is counted.
        for queue in backlogs:
            conn.execute(
                "SELECT count(*) FROM queue.fetch_jobs(%s, %s, 0)", (queue, worker)
            )
        conn.execute("SELECT pg_stat_reset()")

        reads = {}
        claimed = {}
        for queue in backlogs:
            before, seq_before = _reads(conn)
            claimed[queue] = _claim(conn, queue, worker, 100)
            after, seq_after = _reads(conn)
            assert seq_after == seq_before, queue
            reads[queue] = after - before

    for queue in backlogs:
        # 4 of the burst and 3 of each small key.
        assert Counter(key for _, key, _ in claimed[queue])["burst"] == 4
        assert len(claimed[queue]) == 64
    # About the 21 keys and the 64 claimed jobs, nothing near the backlogs.
    assert reads["money"] < 1_000, reads
    assert reads["money"] < reads["background"] * 1.5 + 50, reads


# Real worker processes


@pytest.fixture
def dsn(db_dsn):
    prepare_test_tasks(db_dsn)
    return db_dsn


def _most_at_once(intervals):
    """Return the largest number of (start, end) intervals open at one instant."""
    edges = sorted(
        [(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals],
        # An interval ending when another starts is not open with it.
        key=lambda edge: (edge[0], edge[1]),
    )
    open_now = most = 0
    for _, step in edges:
        open_now += step
        most = max(most, open_now)
    return most


def test_three_processes_never_run_more_than_the_limit_of_a_key(dsn, tmp_path):
    per_key = 2
    keys = ("venue:1", "venue:2", "venue:3")
    jobs = [
        {
            "queue": "communication",
            "job_type": "test-record-communication",
            "data": {"value": f"{key}:{n}", "sleep": 0.15, "mark_start": True},
            "concurrency_key": key,
        }
        for n in range(12)
        for key in keys
    ]
    jobs += [
        {
            "queue": "communication",
            "job_type": "test-record-communication",
            "data": {"value": f"free:{n}", "sleep": 0.05, "mark_start": True},
        }
        for n in range(12)
    ]
    # Slots to spare in every process: only the limit holds a key back.
    query(
        dsn,
        "UPDATE queue.queues SET concurrency = 6, key_concurrency = %s"
        " WHERE name = 'communication'",
        (per_key,),
    )

    most_running: Counter[str] = Counter()
    samples = 0
    stop = threading.Event()

    def sample():
        nonlocal samples
        with psycopg.connect(dsn, autocommit=True) as conn:
            while not stop.is_set():
                for key, count in _running(conn, "communication").items():
                    most_running[key] = max(most_running[key], count)
                samples += 1

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with worker_process(
            dsn, tmp_path, "--processes", "3", "--queues", "communication"
        ):
            # Every process up before the jobs come, so that none has them
            # all to itself while the others start.
            wait_for(lambda: workers_registered(dsn) == 3, what="3 workers")
            query(dsn, "SELECT count(*) FROM queue.enqueue_many(%s)", (Jsonb(jobs),))
            wait_for(
                lambda: (
                    query(
                        dsn,
                        "SELECT count(*) FROM procrastinate_jobs WHERE queue_name = 'communication'"
                        " AND status IN ('todo', 'doing')",
                    )
                    == [(0,)]
                ),
                timeout=120,
                what="the queue to drain",
            )
            workers = query(
                dsn,
                "SELECT count(DISTINCT o.worker_id) FROM queue.job_outcomes AS o"
                " JOIN procrastinate_jobs AS j ON j.id = o.job_id"
                " WHERE j.args -> 'meta' ->> 'concurrency_key' IS NOT NULL",
            )
    finally:
        stop.set()
        sampler.join()

    rows = query(
        dsn,
        "SELECT j.args -> 'meta' ->> 'concurrency_key', e.job_id, e.value, e.at"
        " FROM test_side_effects AS e JOIN procrastinate_jobs AS j ON j.id = e.job_id"
        " ORDER BY e.id",
    )
    states = query(
        dsn,
        "SELECT status::text, count(*) FROM procrastinate_jobs"
        " WHERE queue_name = 'communication' GROUP BY 1",
    )
    assert states == [("succeeded", len(jobs))]
    assert workers[0][0] >= 2  # the keys' jobs ran in more than one process
    assert samples > 50
    assert set(most_running) <= {*keys, None}
    assert all(most_running[key] <= per_key for key in keys), most_running
    # From the recorded start and end of every run: never more than the
    # limit of one key at once, and the limit was reached.
    spans: dict[str | None, dict[int, list[object]]] = defaultdict(dict)
    for key, job_id, value, at in rows:
        spans[key].setdefault(job_id, []).append(at)
        assert value == "start" or value.startswith(f"{key or 'free'}:")
    for key in keys:
        intervals = [(start, end) for start, end in spans[key].values()]
        assert len(intervals) == 12
        assert _most_at_once(intervals) == per_key, key

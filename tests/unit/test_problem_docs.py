from pathlib import Path

from app.domain import errors

DOCS = Path(__file__).resolve().parents[2] / "docs" / "problems.md"
BASES = {errors.ServiceError, errors.ClientError, errors.EnqueueRejected}


def _client_errors(cls=errors.ClientError):
    for sub in cls.__subclasses__():
        yield sub
        yield from _client_errors(sub)


def test_problem_docs_list_every_problem_type():
    text = DOCS.read_text()
    missing = sorted(
        {
            e.slug
            for e in _client_errors()
            if e not in BASES and f"/problems/{e.slug}`" not in text
        }
    )
    assert missing == []

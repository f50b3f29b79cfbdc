import psycopg
import pytest
from psycopg.pq import DiagnosticField

from app.db.errors import SQLSTATE_ERRORS, translate_errors
from app.domain import errors

ENQUEUE_CODES = [*(f"QS{n:03d}" for n in range(1, 12)), "QS016"]
JOB_CODES = {
    "QS012": errors.InvalidJobTransition,
    "QS013": errors.JobNotFound,
    "QS014": errors.SideEffectConflict,
    "QS015": errors.UnknownRateLimit,
}
QS_CODES = sorted([*ENQUEUE_CODES, *JOB_CODES])


def database_error(sqlstate: str, message: str) -> psycopg.Error:
    """Build the error psycopg raises for a server error with this SQLSTATE.

    psycopg has no class for our QS codes, so it raises its base class for the
    code with the diagnostics attached; `info` as a dict is the form psycopg
    itself uses for pickled errors.
    """
    cls = psycopg.errors.get_base_exception(sqlstate)
    return cls(
        f"ERROR:  {message}",
        info={
            DiagnosticField.SQLSTATE: sqlstate.encode(),
            DiagnosticField.MESSAGE_PRIMARY: message.encode(),
        },
    )


def test_sqlstate_errors_cover_every_qs_code():
    assert sorted(code for code in SQLSTATE_ERRORS if code.startswith("QS")) == QS_CODES


def test_sqlstate_errors_map_check_violations_to_rule_violated():
    assert SQLSTATE_ERRORS["23514"] is errors.RuleViolated


@pytest.mark.parametrize("code", ENQUEUE_CODES)
def test_sqlstate_errors_map_to_enqueue_rejected(code):
    assert issubclass(SQLSTATE_ERRORS[code], errors.EnqueueRejected)


@pytest.mark.parametrize(("code", "error"), sorted(JOB_CODES.items()))
def test_sqlstate_errors_map_job_actions(code, error):
    assert SQLSTATE_ERRORS[code] is error


def test_sqlstate_errors_classes_have_distinct_slugs():
    classes = set(SQLSTATE_ERRORS.values())
    slugs = [cls.slug for cls in classes]
    assert all(slugs)
    assert len(set(slugs)) == len(classes)
    assert errors.EnqueueRejected.slug not in slugs


def test_sqlstate_errors_only_invalid_enqueue_request_is_shared():
    shared = {
        cls
        for cls in SQLSTATE_ERRORS.values()
        if list(SQLSTATE_ERRORS.values()).count(cls) > 1
    }
    assert shared <= {errors.InvalidEnqueueRequest}


@pytest.mark.parametrize("code", QS_CODES)
def test_sqlstate_errors_status_is_client_error(code):
    assert 400 <= SQLSTATE_ERRORS[code].status <= 499


@pytest.mark.parametrize("code", [*QS_CODES, "23514"])
def test_translate_errors_raises_service_error_for_qs_code(code):
    original = database_error(code, f"rejected with {code}")
    assert original.sqlstate == code
    with pytest.raises(errors.ClientError) as excinfo, translate_errors():
        raise original
    assert type(excinfo.value) is SQLSTATE_ERRORS[code]
    assert excinfo.value.detail == f"rejected with {code}"
    assert excinfo.value.extra == {"sqlstate": code}
    assert excinfo.value.__cause__ is original


def test_translate_errors_lets_non_psycopg_exception_through():
    original = KeyError("boom")
    with pytest.raises(KeyError) as excinfo, translate_errors():
        raise original
    assert excinfo.value is original


def test_translate_errors_lets_psycopg_error_without_sqlstate_through():
    original = psycopg.OperationalError("boom")
    assert original.sqlstate is None
    with pytest.raises(psycopg.OperationalError) as excinfo, translate_errors():
        raise original
    assert excinfo.value is original


def test_translate_errors_lets_foreign_sqlstate_through():
    original = psycopg.errors.UniqueViolation("duplicate key")
    assert original.sqlstate == "23505"
    with pytest.raises(psycopg.errors.UniqueViolation) as excinfo, translate_errors():
        raise original
    assert excinfo.value is original


def test_translate_errors_passes_through_when_nothing_raised():
    with translate_errors():
        value = 1 + 1
    assert value == 2

"""What tasks and the job chain need from their process, handed over explicitly."""

from dataclasses import dataclass, field
from pathlib import Path

from psycopg_pool import AsyncConnectionPool

from app.settings import AlertSettings
from workers.completions import CompletionRows
from workers.provider_gate import ProviderGate
from workers.providers import Providers


@dataclass(frozen=True)
class WorkerDeps:
    """The process's shared resources, reachable from a job's context."""

    pool: AsyncConnectionPool
    report_dir: Path
    providers: Providers
    gate: ProviderGate
    alerts: AlertSettings = field(default_factory=AlertSettings)
    oncall_phone: str | None = None
    can_page: bool = False  # ONCALL_PHONE and Twilio are both configured
    stalled_after_s: float = 30.0
    # Rows a task writes with its job's completion (see workers.completions).
    completion_rows: CompletionRows = field(default_factory=CompletionRows)


DEPS_KEY = "queue_service"

"""ops/k8s: every manifest validates offline against the Kubernetes JSON schemas
(kubernetes-validate, strict: unknown fields are errors), KEDA's objects against
tests/ops/schemas/keda-v1alpha1.json, and KEDA's query counts waiting jobs."""

import copy
import json
from pathlib import Path

import jsonschema
import kubernetes_validate
import psycopg
import pytest
import yaml
from psycopg.types.json import Jsonb

from app.settings import known_variables
from tests.ops.binaries import OPS

K8S = OPS / "k8s"
KUBERNETES_VERSION = "1.30"
KEDA_SCHEMA = Path(__file__).parent / "schemas" / "keda-v1alpha1.json"
NOT_APPLIED = {"kustomization.yaml", "secret.example.yaml"}


def _documents(name: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all((K8S / name).read_text()) if doc]


def _all() -> dict[str, dict]:
    objects = {}
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in _documents(path.name):
            objects[f"{doc['kind']}/{doc['metadata']['name']}"] = doc
    return objects


def _keda_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(KEDA_SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _validate(doc: dict) -> None:
    if doc["apiVersion"].startswith("keda.sh/"):
        _keda_validator().validate(doc)
    else:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize(
    "name", sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
)
def test_manifest_validates_against_its_schema(name):
    docs = _documents(name)
    assert docs
    for doc in docs:
        _validate(doc)


def test_validation_rejects_an_unknown_field():
    deployment = copy.deepcopy(_all()["Deployment/queue-service-worker"])
    deployment["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate(deployment)
    scaled = copy.deepcopy(_all()["ScaledObject/queue-service-worker"])
    scaled["spec"]["maxReplicaCont"] = 3
    with pytest.raises(jsonschema.ValidationError):
        _validate(scaled)


def test_kustomization_lists_every_manifest_and_names_the_image():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = kustomization["resources"]
    assert all((K8S / name).is_file() for name in listed)
    files = {p.name for p in K8S.glob("*.yaml")} - NOT_APPLIED
    assert set(listed) == files
    [image] = kustomization["images"]
    for obj in _all().values():
        pod = obj.get("spec", {}).get("template", {}).get("spec")
        for container in (pod or {}).get("containers", []):
            assert container["image"] == image["name"]


def _pods() -> dict[str, dict]:
    return {
        key: obj["spec"]["template"]["spec"]
        for key, obj in _all().items()
        if obj["kind"] in {"Deployment", "Job"}
    }


def test_pods_run_as_non_root_with_requests_and_limits():
    pods = _pods()
    assert set(pods) == {
        "Deployment/queue-service-api",
        "Deployment/queue-service-worker",
        "Job/queue-service-migrate",
    }
    for key, pod in pods.items():
        assert pod["securityContext"]["runAsNonRoot"] is True, key
        for container in pod["containers"]:
            assert {"cpu", "memory"} <= container["resources"]["requests"].keys(), key
            assert {"cpu", "memory"} <= container["resources"]["limits"].keys(), key
            assert container["securityContext"]["allowPrivilegeEscalation"] is False


# Where each workload kind keeps its pod spec.
_POD_SPEC_PATHS = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}


def test_every_pod_spec_disables_service_links():
    # Without it every pod gets <SERVICE>_PORT, <SERVICE>_SERVICE_HOST... for
    # each Service in the namespace (the service starts with them, but nothing
    # reads them).
    checked = []
    for key, obj in _all().items():
        if obj["kind"] in _POD_SPEC_PATHS:
            pod = obj
            for step in _POD_SPEC_PATHS[obj["kind"]]:
                pod = pod[step]
            assert pod.get("enableServiceLinks") is False, key
            checked.append(key)
    assert set(checked) >= set(_pods())


def test_one_image_three_commands():
    commands = {key: pod["containers"][0]["args"][0] for key, pod in _pods().items()}
    assert commands == {
        "Deployment/queue-service-api": "serve",
        "Deployment/queue-service-worker": "worker",
        "Job/queue-service-migrate": "migrate",
    }


def test_probes_use_the_health_endpoints_and_the_worker_metrics_port():
    pods = _pods()
    config = _all()["ConfigMap/queue-service-config"]["data"]
    [api] = pods["Deployment/queue-service-api"]["containers"]
    assert api["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert api["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert api["ports"][0]["containerPort"] == int(config["PORT"])
    [worker] = pods["Deployment/queue-service-worker"]["containers"]
    assert worker["livenessProbe"]["httpGet"]["port"] == "metrics"
    [metrics] = [p for p in worker["ports"] if p["name"] == "metrics"]
    assert metrics["containerPort"] == int(config["WORKER_METRICS_PORT"])
    service = _all()["Service/queue-service-api"]
    assert service["spec"]["selector"].items() <= (
        _all()["Deployment/queue-service-api"]["spec"]["template"]["metadata"][
            "labels"
        ].items()
    )


def test_every_configured_variable_is_a_setting():
    # The service warns about unknown variables with its prefixes at start.
    config = _all()["ConfigMap/queue-service-config"]["data"]
    secret = _all()["Secret/queue-service"]["stringData"]
    assert set(config) | set(secret) <= known_variables()


def test_keda_scales_the_worker_deployment_with_the_secrets_dsn():
    objects = _all()
    scaled = objects["ScaledObject/queue-service-worker"]["spec"]
    assert scaled["scaleTargetRef"]["name"] == "queue-service-worker"
    assert "replicas" not in objects["Deployment/queue-service-worker"]["spec"]
    assert scaled["minReplicaCount"] >= 1
    auth = objects["TriggerAuthentication/queue-service-postgres"]["spec"]
    assert auth["secretTargetRef"] == [
        {"parameter": "connection", "name": "queue-service", "key": "DATABASE_URL"}
    ]
    for trigger in scaled["triggers"]:
        assert trigger["type"] == "postgresql"
        assert trigger["authenticationRef"]["name"] == "queue-service-postgres"
        assert "queue.overview" in trigger["metadata"]["query"]


def _enqueue(conn: psycopg.Connection, queue: str, job_type: str, data: dict) -> None:
    conn.execute(
        "SELECT * FROM queue.enqueue(%s, %s, %s)", (queue, job_type, Jsonb(data))
    )


def test_keda_queries_count_the_due_waiting_jobs(db_dsn):
    triggers = {
        t["name"]: t["metadata"]["query"]
        for t in _all()["ScaledObject/queue-service-worker"]["spec"]["triggers"]
    }
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        for amount in (100, 200, 300):
            payment = {
                "venueId": "6b1d9a4e-8a55-4a57-9c1e-2d8f8f1f0a01",
                "userId": "0f9e4f1c-3b0a-4d0e-9f55-7f5a2f0c9b02",
                "eventId": "a3c5e7f9-1b2d-4f6a-8c0e-2a4c6e8f0b03",
                "amount": amount,
                "currency": "USD",
                "paymentMethodId": "pm_1",
            }
            _enqueue(conn, "money", "payment-process", payment)
        for _ in range(5):
            _enqueue(conn, "background", "analytics-track", {"eventType": "x"})
        # Scheduled for later: not waiting yet, so not counted.
        conn.execute(
            "SELECT * FROM queue.enqueue('background', 'analytics-track', "
            "'{\"eventType\": \"later\"}', run_at => now() + interval '1 hour')"
        )
        counts = {
            name: conn.execute(query).fetchone()[0] for name, query in triggers.items()
        }
    assert counts == {"critical-waiting": 3, "all-waiting": 8}
    # A queue added to queue.queues is followed, by its tier, with no edit here.
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        # A copy of money's policy under another name.
        conn.execute(
            "INSERT INTO queue.queues SELECT (jsonb_populate_record(q,"
            " '{\"name\": \"refunds-eu\"}')).* FROM queue.queues AS q WHERE q.name = 'money'"
        )
        conn.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, args) VALUES "
            "('refunds-eu', 'refund-process', '{}'), ('refunds-eu', 'refund-process', '{}')"
        )
        counts = {
            name: conn.execute(query).fetchone()[0] for name, query in triggers.items()
        }
    assert counts == {"critical-waiting": 5, "all-waiting": 10}
    assert all(isinstance(value, int) for value in counts.values())

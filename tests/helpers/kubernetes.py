"""The variables Kubernetes injects for Services (service links), built as the kubelet does."""

from dataclasses import dataclass

import yaml

from tests.helpers.workers import ROOT

K8S = ROOT / "ops" / "k8s"


@dataclass(frozen=True)
class ServicePort:
    port: int
    name: str | None = None
    protocol: str = "TCP"


@dataclass(frozen=True)
class Service:
    name: str
    cluster_ip: str
    ports: tuple[ServicePort, ...]


def manifest_services() -> list[Service]:
    """Return every Service of ops/k8s, each with a made-up cluster IP."""
    services = []
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "Service":
                ports = tuple(
                    ServicePort(p["port"], p.get("name"), p.get("protocol", "TCP"))
                    for p in doc["spec"]["ports"]
                )
                ip = f"10.0.1.{len(services) + 1}"
                services.append(Service(doc["metadata"]["name"], ip, ports))
    return services


# Services a namespace commonly holds next to ours; their names make variables
# with our prefixes (DB_PORT, API_SERVICE_HOST, WORKER_PORT, QUEUE_PORT...).
COMMON_SERVICES = [
    Service("db", "192.0.2.5", (ServicePort(5432, "postgres"),)),
    Service("api", "192.0.2.6", (ServicePort(80, "http"), ServicePort(443, "https"))),
    Service("worker", "192.0.2.7", (ServicePort(9464, "metrics"),)),
    Service(
        "queue", "2001:db8::8", (ServicePort(5672), ServicePort(5672, None, "UDP"))
    ),
]


def service_links(service: Service) -> dict[str, str]:
    """Return the variables the kubelet puts in every pod for `service`."""
    name = service.name.upper().replace("-", "_")
    host = (
        f"[{service.cluster_ip}]" if ":" in service.cluster_ip else service.cluster_ip
    )
    first = service.ports[0]
    env = {
        f"{name}_SERVICE_HOST": service.cluster_ip,
        f"{name}_SERVICE_PORT": str(first.port),
        f"{name}_PORT": f"{first.protocol.lower()}://{host}:{first.port}",
    }
    for port in service.ports:
        protocol = port.protocol.lower()
        if port.name:
            env[f"{name}_SERVICE_PORT_{port.name.upper().replace('-', '_')}"] = str(
                port.port
            )
        prefix = f"{name}_PORT_{port.port}_{protocol.upper()}"
        env[prefix] = f"{protocol}://{host}:{port.port}"
        env[f"{prefix}_PROTO"] = protocol
        env[f"{prefix}_PORT"] = str(port.port)
        env[f"{prefix}_ADDR"] = service.cluster_ip
    return env


def every_service() -> list[Service]:
    """The common Services and those of ops/k8s."""
    return COMMON_SERVICES + manifest_services()


def all_service_links() -> dict[str, str]:
    """The variables of every Service of `every_service()` at once."""
    env: dict[str, str] = {}
    for service in every_service():
        env.update(service_links(service))
    return env

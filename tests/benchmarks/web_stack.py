"""The deployed shape, on loopback, for the benchmarks.

Nginx serves the nginx role's own site template (with one loopback port and two
baseline locations, see nginx_bench.conf.j2) in front of Gunicorn started with the
chat_app role's own gunicorn.conf.py on a unix socket, plus Redis (jobs, live events,
rate limits) and one transcoding worker. A bare Flask "hello" runs under the same
Gunicorn settings behind the same Nginx, as a baseline.
"""

import contextlib
import getpass
import ipaddress
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import jinja2.nativetypes
import requests
import yaml

from tests.app.test_live_and_limits import HttpUser
from tests.benchmarks.internal_tls import (
    APP_TLS_NAME,
    InternalTls,
    make_internal_tls,
    start_tls_redis,
    wait_for_https_unix,
)
from tests.benchmarks.report import NGINX_VERSION, tool_version
from tests.conftest import (
    ROOT,
    app_environment,
    free_port,
    migrate_database,
    start_redis,
    stop_process,
    wait_for_http,
    wait_for_port,
)
from tests.voice.test_worker import upload, wait_for_content

ROLES = ROOT / "roles"
SERVER_NAME = "localhost"
# Production rate limits would throttle a benchmark whose clients all share 127.0.0.1;
# the limits stay on (Redis-backed), only higher.
BENCH_LIMIT = "100000 per minute"
# Every client is 127.0.0.1 and a few accounts hold hundreds of idle event streams (live
# delivery): the per-address and per-account stream caps are raised like the rate limits.
BENCH_STREAMS_PER_ADDRESS = 2000
BENCH_STREAMS_PER_ACCOUNT = 100


@dataclass
class WebStack:
    base_url: str
    port: int
    ca_file: Path
    uploads_dir: Path
    app_pid: int
    # The app's environment: for its command line (`flask --app wsgi users ...`).
    app_env: dict
    # Every app server Nginx spreads requests over (web_stack's app_hosts), first app_pid's.
    app_processes: list[subprocess.Popen] = field(default_factory=list)
    # With internal_tls: the CA and certificate the hops between "hosts" use.
    internal_tls: InternalTls | None = None

    def app_memory_mib(self) -> float:
        """Resident memory of the app's Gunicorn worker processes (not the master)."""
        children = Path(f"/proc/{self.app_pid}/task/{self.app_pid}/children").read_text().split()
        total_kib = 0
        for pid in children:
            status = Path(f"/proc/{pid}/status").read_text()
            total_kib += int(re.search(r"VmRSS:\s*(\d+)", status).group(1))
        return total_kib / 1024

    def user(self, username: str) -> HttpUser:
        """A registered user talking to Nginx over HTTPS, as a browser would."""
        # Nginx passes Host without the port (Debian's proxy_params), so the CSRF
        # referrer check wants the origin a browser on port 443 would send.
        headers = {"Referer": "https://127.0.0.1/chat"}
        return HttpUser(self.base_url, username, verify=str(self.ca_file), headers=headers)


def send_voice(stack: WebStack, sender: HttpUser, recipient: str, recording: Path) -> dict:
    """The content of a voice message `sender` sent to `recipient` in a new conversation,
    once its m4a exists."""
    conversation = sender.post("/api/chat/conversations", participants=[recipient]).json()["id"]
    response = upload(sender, conversation, recording)
    assert response.status_code == 201, response.text
    content = wait_for_content(sender, conversation, lambda sent: sent["url_m4a"], timeout=60)
    return {"message_id": response.json()["id"], **content}


def app_answers(stack: WebStack, route: str) -> int:
    """How many requests of `route` (a URL rule) the app has answered: its /metrics."""
    text = requests.get(f"{stack.base_url}/metrics", verify=str(stack.ca_file), timeout=10).text
    pattern = rf'^natter_http_requests_total{{[^}}]*route="{re.escape(route)}"[^}}]*}} (\S+)$'
    return int(sum(float(value) for value in re.findall(pattern, text, re.MULTILINE)))


def cookie_header(user: HttpUser) -> str:
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in user.http.cookies)


def role_defaults(role: str) -> dict:
    """The role's defaults as a play sees them: templated against the wiring layer
    (group_vars/all/wiring.yml) and the role's own vars; a value that needs more (a fact,
    a registered result) is left out."""
    role_vars = ROLES / role / "vars" / "main.yml"
    known = {
        **yaml.safe_load((ROLES.parent / "group_vars" / "all" / "wiring.yml").read_text()),
        **(yaml.safe_load(role_vars.read_text()) if role_vars.exists() else {}),
        **yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text()),
    }
    environment = jinja2.nativetypes.NativeEnvironment(undefined=jinja2.StrictUndefined)
    resolved = {key: value for key, value in known.items() if "{{" not in str(value)}
    for _ in range(len(known)):  # each pass resolves at least one more value, or none can be
        progressed = False
        for key, value in known.items():
            if key in resolved or not isinstance(value, str):
                continue
            try:
                resolved[key] = environment.from_string(value).render(resolved)
                progressed = True
            except jinja2.TemplateError:  # not known yet, or an Ansible-only filter
                continue
        if not progressed:
            break
    defaults = yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text())
    return {key: resolved[key] for key in defaults if key in resolved}


def ip_version(value: str) -> int | None:
    try:
        return ipaddress.ip_address(value).version
    except ValueError:
        return None


def render(template: str, folders: list[Path], target: Path, **variables) -> Path:
    loader = jinja2.FileSystemLoader([str(folder) for folder in folders])
    environment = jinja2.Environment(
        loader=loader,
        trim_blocks=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 - Nginx and Python files, not HTML
    )
    environment.filters["comment"] = lambda text: f"# {text}"
    # The ansible.utils tests the role's templates use (importing the collection here would
    # keep Ansible's own collection loader from loading it later in the same process).
    environment.tests["ansible.utils.ip_address"] = lambda value: ip_version(value) is not None
    environment.tests["ansible.utils.ipv6_address"] = lambda value: ip_version(value) == 6
    text = environment.get_template(template).render(
        ansible_managed="Natter benchmark", **variables
    )
    target.write_text(text + "\n")
    return target


def http2_directive() -> str:
    version = tuple(int(part) for part in tool_version(["nginx", "-v"], NGINX_VERSION).split("."))
    return "on" if version >= (1, 25, 1) else "listen"


def make_certificate(folder: Path, alt_names: str = f"DNS:{SERVER_NAME},IP:127.0.0.1") -> Path:
    folder.mkdir(parents=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", "2", "-subj", "/CN=natter-test",
         "-addext", f"subjectAltName={alt_names}",
         "-keyout", str(folder / "privkey.pem"), "-out", str(folder / "fullchain.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    return folder / "fullchain.pem"


def write_nginx_config(
    folder: Path,
    port: int,
    app_socket: Path,
    hello_socket: Path,
    overrides: dict,
    template: str = "nginx_bench.conf.j2",
    alt_names: str = f"DNS:{SERVER_NAME},IP:127.0.0.1",
) -> Path:
    """The role's site as `template` extends it (the benchmarks' one, or the role's own
    site.conf.j2 with its ports 80 and 443: then in a network namespace of the test's)."""
    nginx_dir = folder / "nginx"
    server_name = overrides.get("nginx_server_name", SERVER_NAME)
    ca_file = make_certificate(nginx_dir / "tls" / server_name, alt_names)
    variables = {
        **yaml.safe_load((ROLES / "nginx" / "vars" / "Debian.yml").read_text()),
        **role_defaults("nginx"),
        "nginx_server_name": SERVER_NAME,
        "nginx_app_socket": str(app_socket),
        "nginx_static_dir": str(ROOT / "app" / "static"),
        "nginx_uploads_dir": str(folder / "uploads"),
        "nginx_tls_dir": str(nginx_dir / "tls"),
        "nginx_voice_access_cache_dir": str(nginx_dir / "voice-access"),
        "__nginx_snippets_dir": str(nginx_dir),
        "__nginx_http2_directive": http2_directive(),
        "bench_port": port,
        "bench_hello_socket": str(hello_socket),
        "nginx_event_streams_per_address": BENCH_STREAMS_PER_ADDRESS,
        **overrides,
    }
    role_templates = ROLES / "nginx" / "templates"
    for snippet in ("security-headers", "proxy"):
        render(
            f"{snippet}.conf.j2",
            [role_templates],
            nginx_dir / f"natter-{snippet}.conf",
            **variables,
        )
    render(
        template,
        [Path(__file__).parent, role_templates],
        nginx_dir / "site.conf",
        **variables,
    )
    # Debian's nginx.conf with the role's worker settings, as on a provisioned host,
    # every path moved into this folder.
    connections = variables["nginx_worker_connections"]
    (nginx_dir / "nginx.conf").write_text(f"""
user {getpass.getuser()};
worker_processes auto;
worker_rlimit_nofile {connections * 2};
pid {nginx_dir}/nginx.pid;
daemon off;
events {{ worker_connections {connections}; }}
http {{
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    # Which app server answered each request: tests of several app hosts read it.
    log_format natter_upstream '$request_method $uri $status "$upstream_addr"';
    access_log {nginx_dir}/access.log natter_upstream;
    error_log {nginx_dir}/error.log;
    gzip on;
    client_body_temp_path {nginx_dir}/client_body;
    proxy_temp_path {nginx_dir}/proxy;
    fastcgi_temp_path {nginx_dir}/fastcgi;
    uwsgi_temp_path {nginx_dir}/uwsgi;
    scgi_temp_path {nginx_dir}/scgi;
    include {nginx_dir}/site.conf;
}}
""")
    return ca_file


def s3_overrides(folder: Path, gateway, bucket: str) -> tuple[dict, dict]:
    """(nginx overrides, app environment) for voice files in `bucket` of an RGW gateway."""
    location = role_defaults("nginx")["nginx_uploads_s3_location"]
    nginx = {
        "nginx_uploads_backend": "s3",
        "nginx_uploads_s3_endpoint": gateway.endpoint,
        "nginx_uploads_s3_cache_dir": str(folder / "nginx" / "s3-cache"),
    }
    return nginx, {**gateway.environment(bucket), "UPLOADS_ACCEL_PREFIX": location}


def start_logged(command: list, env: dict, log_file: Path) -> subprocess.Popen:
    with open(log_file, "ab") as log:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)


def start_gunicorn(
    application: str,
    socket: Path,
    env: dict,
    log_file: Path,
    settings: dict,
    tls: InternalTls | None = None,
) -> subprocess.Popen:
    tls_settings = {
        # The chat_app role's files: its certificate and key, PEM text in the inventory.
        "chat_app_tls_certificate": tls.certificate_file.read_text(),
        "__chat_app_tls_certificate_file": str(tls.certificate_file),
        "__chat_app_tls_private_key_file": str(tls.private_key_file),
    } if tls else {"chat_app_tls_certificate": ""}  # fmt: skip
    config = render(
        "gunicorn.conf.py.j2",
        [ROLES / "chat_app" / "templates"],
        socket.with_suffix(".conf.py"),
        **{**role_defaults("chat_app"), **settings, **tls_settings},
    )
    process = start_logged(
        [sys.executable, "-m", "gunicorn", "--config", str(config),
         "--bind", f"unix:{socket}", application],
        env, log_file,
    )  # fmt: skip
    wait_for_port(str(socket), process)
    if tls:
        wait_for_https_unix(socket, tls, process)
    else:
        wait_for_http(f"unix:{socket}:/healthz", process)
    return process


@contextlib.contextmanager
def web_stack(
    folder: Path,
    nginx_overrides: dict | None = None,
    app_overrides: dict | None = None,
    app_hosts: int = 1,
    gunicorn_overrides: dict | None = None,
    internal_tls: bool = False,
):
    """Starts everything in `folder`; yields a WebStack; stops every process it started.

    `app_overrides` are more environment variables of the app and its worker (S3 storage);
    `gunicorn_overrides`, chat_app role variables of every Gunicorn's config.
    `app_hosts` Gunicorns share the database and Redis, as app hosts do, behind one Nginx.
    `internal_tls`: the hops of hosts apart over TLS, verified against a private CA (Nginx
    to Gunicorn, the app and worker to Redis), as site.yml sets them.
    """
    folder.mkdir(parents=True, exist_ok=True)
    processes = []
    try:
        tls = make_internal_tls(folder / "internal-tls") if internal_tls else None
        redis_process, redis_url = start_tls_redis(folder, tls) if tls else start_redis(folder)
        metrics_dir = folder / "metrics"
        metrics_dir.mkdir(exist_ok=True)
        processes.append(redis_process)
        settings = {
            "UPLOADS_ACCEL_PREFIX": role_defaults("chat_app")["chat_app_uploads_accel_prefix"],
            **(app_overrides or {}),
        }
        env = app_environment(
            folder,
            BEHIND_PROXY="1",
            REDIS_URL=redis_url,
            RATELIMIT_STORAGE_URI=redis_url.replace("/0", "/1", 1),
            RATELIMIT_LOGIN=BENCH_LIMIT,
            RATELIMIT_REGISTER=BENCH_LIMIT,
            RATELIMIT_POST=BENCH_LIMIT,
            RATELIMIT_UPLOAD=BENCH_LIMIT,
            EVENT_STREAMS_PER_USER=str(BENCH_STREAMS_PER_ACCOUNT),
            WORKER_NAME="bench-1",
            PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
            **settings,
        )
        migrate_database(env)
        app_sockets = [folder / f"app-{number}.sock" for number in range(1, app_hosts + 1)]
        gunicorn = gunicorn_overrides or {}
        apps = [
            start_gunicorn("wsgi:app", socket, env, socket.with_suffix(".log"), gunicorn, tls)
            for socket in app_sockets
        ]
        processes += apps
        hello_socket = folder / "hello.sock"
        processes.append(
            start_gunicorn(
                "tests.benchmarks.hello_app:app", hello_socket, env, folder / "hello.log", gunicorn
            )
        )
        processes.append(
            start_logged([sys.executable, "-m", "app.worker"], env, folder / "worker.log")
        )
        port = free_port()
        servers = {"nginx_app_servers": [f"unix:{socket}" for socket in app_sockets]}
        if tls:
            servers |= {
                "nginx_app_tls_ca_certificate": tls.ca_file.read_text(),
                "__nginx_app_tls_ca_file": str(tls.ca_file),
                "nginx_app_tls_name": APP_TLS_NAME,
            }
        ca_file = write_nginx_config(
            folder, port, app_sockets[0], hello_socket, {**servers, **(nginx_overrides or {})}
        )
        conf = folder / "nginx" / "nginx.conf"
        subprocess.run(["nginx", "-t", "-q", "-e", "stderr", "-c", str(conf)], check=True)
        nginx = start_logged(
            ["nginx", "-e", "stderr", "-c", str(conf)], env, folder / "nginx" / "stderr.log"
        )
        processes.append(nginx)
        wait_for_port(port, nginx)
        base_url = f"https://127.0.0.1:{port}"
        yield WebStack(base_url, port, ca_file, folder / "uploads", apps[0].pid, env, apps, tls)
    finally:
        for process in reversed(processes):
            stop_process(process)

"""`cdshooks dev` (the local sandbox in one command) and `cdshooks token` (a dev JWT for curl).

`cdshooks dev`:
1. starts the in-memory FHIR server (`cdshooks.cli.devfhir`) on 127.0.0.1 and
   loads every fixture scenario as a patient of its own (id = scenario name,
   exactly as `cdshooks fixtures load` does for docker-compose);
2. starts `cdshooks serve` on 127.0.0.1 with authentication ON, trusting the
   public CDS Hooks sandbox and the local dev key (`cdshooks.cli.devkey`), its
   public URL set to the address the browser calls (so the JWT `aud`
   matches), its FHIR allowlist set to the local FHIR server only, and the
   fixtures' `asOf` as evaluation time;
3. prints the sandbox URL with `serviceDiscoveryURL`, `fhirServiceUrl` and
   `patientId` (and the matching `hook` and `screen` tab) filled in;
4. on Ctrl-C (SIGINT), SIGTERM or SIGHUP stops the service (gracefully: calls
   in flight finish) and the FHIR server, and waits for them.

`cdshooks token` prints a JWT signed by the dev key for the URL of one
service (or discovery), valid for `--ttl` seconds. Tokens are printed, never
logged.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from cdshooks.protocol import ORDER_SELECT, ORDER_SIGN, PATIENT_VIEW

if TYPE_CHECKING:
    from cdshooks.cli.commands import Parser

SANDBOX_URL = "https://sandbox.cds-hooks.org/"
HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_FHIR_PORT = 8081
DEFAULT_SERVICE_URL = f"http://{HOST}:{DEFAULT_PORT}"
# A patient-view scenario with two cards: what the sandbox's first tab shows at once.
DEFAULT_PATIENT = "cmv-viremia-rising-below-threshold"
# The sandbox's tab for each hook (its `screen` query parameter).
SCREENS = {PATIENT_VIEW: "patient-view", ORDER_SELECT: "rx-view", ORDER_SIGN: "rx-sign"}
STOP_SECONDS = 15.0


class _Stop(Exception):
    """SIGINT or SIGTERM arrived."""


def sandbox_url(discovery_url: str, fhir_url: str, patient_id: str, hook: str | None = None) -> str:
    """The public sandbox, opened on our services, FHIR server and patient (and the hook's tab).

    Query parameters as the sandbox reads them (src/components/MainView/main-view.jsx,
    src/retrieve-data-helpers/fhir-metadata-retrieval.js and patient-retrieval.js).
    """
    params = {"serviceDiscoveryURL": discovery_url, "fhirServiceUrl": fhir_url, "patientId": patient_id}
    if hook in SCREENS:
        params.update(hook=hook, screen=SCREENS[hook])
    return SANDBOX_URL + "?" + urlencode(params)


def _scenarios(path: Path) -> dict[str, dict[str, Any]]:
    """Scenario name -> {"asOf", "hook"} for every scenario.json under `path`."""
    from cdshooks.cli.fixture_upload import scenario_files

    out = {}
    for file in scenario_files(path):
        data = json.loads(file.read_text(encoding="utf-8"))
        out[file.parent.name] = {"asOf": data.get("asOf"), "hook": (data.get("request") or {}).get("hook")}
    return out


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def _ready(url: str, timeout: float = 10.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status == 200
    except (OSError, urllib.error.URLError):
        return False


def service_env(
    base: dict[str, str], *, public_url: str, fhir_url: str, issuers_file: Path, dev: Path, now: str | None
) -> dict[str, str]:
    """The service's environment: auth on, sandbox + dev key trusted, FHIR allowlist = the local server."""
    env = dict(base)
    env.update(
        CDSHOOKS_AUTH="1",
        CDSHOOKS_TRUST_SANDBOX="1",
        CDSHOOKS_TRUSTED_ISSUERS=str(issuers_file.resolve()),
        CDSHOOKS_PUBLIC_BASE_URL=public_url,
        CDSHOOKS_FHIR_ALLOWLIST=fhir_url,
        CDSHOOKS_FEEDBACK_DB=str((dev / "feedback.sqlite3").resolve()),
        GUNICORN_GRACEFUL_TIMEOUT=env.get("GUNICORN_GRACEFUL_TIMEOUT", "5"),
    )
    env.pop("CDSHOOKS_JTI_CACHE", None)  # beside the dev feedback store
    if now:
        env["CDSHOOKS_NOW"] = now
    else:
        env.pop("CDSHOOKS_NOW", None)
    return env


def _stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (gunicorn's graceful stop: in-flight calls finish), then SIGKILL."""
    for sig, wait in ((signal.SIGTERM, STOP_SECONDS), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            return
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _raise_stop(signum: int, frame: object) -> None:
    raise _Stop()


def _dev(args: argparse.Namespace) -> int:
    from cdshooks.cli import devfhir, devkey
    from cdshooks.cli.fixture_upload import upload

    def fail(message: str, code: int = 2) -> int:
        print(f"cdshooks dev: {message}", file=sys.stderr)
        return code

    fixtures = Path(args.fixtures)
    try:
        scenarios = _scenarios(fixtures) if fixtures.exists() else {}
    except (OSError, ValueError) as exc:
        return fail(f"cannot read the fixtures under {fixtures} ({exc}); `cdshooks validate` says more")
    if not scenarios:
        return fail(f"no fixture scenarios under {fixtures} (run it from the project folder, or pass --fixtures)")
    if args.patient and args.patient not in scenarios:
        return fail(f"--patient {args.patient!r} is not a scenario under {fixtures}/")
    if args.now:
        from cdshooks.config import aware_datetime

        try:
            aware_datetime(args.now)
        except ValueError as exc:
            return fail(f"--now {args.now!r}: {exc}")
    for name, port in (("--port", args.port), ("--fhir-port", args.fhir_port)):
        if not 1 <= port <= 65535:
            return fail(f"{name} {port} is out of range: use 1-65535")
        if not _port_free(port):
            return fail(f"{HOST}:{port} is in use ({name}): stop what listens there or pick another port")
    if args.port == args.fhir_port:
        return fail("--port and --fhir-port must differ")
    as_ofs = {s["asOf"] for s in scenarios.values()}
    now = args.now or (as_ofs.pop() if len(as_ofs) == 1 else None)

    dev = devkey.dev_dir(args.dev_dir)
    issuers_file = devkey.write_issuers_file(dev, devkey.load_or_create_key(dev))
    public_url = f"http://{HOST}:{args.port}"
    fhir_url = f"http://{HOST}:{args.fhir_port}{devfhir.BASE_PATH}"
    env = service_env(
        dict(os.environ), public_url=public_url, fhir_url=fhir_url, issuers_file=issuers_file, dev=dev, now=now
    )
    command = [sys.executable, "-m", "cdshooks.cli", "serve", "--host", HOST, "--port", str(args.port)]
    command += ["--workers", str(args.workers)]

    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    proc: subprocess.Popen[bytes] | None = None
    fhir: devfhir.RunningServer | None = None
    try:
        # The service boots (workers load rules and models) while the fixtures load. In a
        # process group of its own: Ctrl-C reaches only this process, which stops the service
        # gracefully (gunicorn's own SIGINT handling would cut in-flight responses).
        proc = subprocess.Popen(command, env=env, process_group=0)
        fhir = devfhir.start(HOST, args.fhir_port)
        done, skipped = upload(fhir.base_url, fixtures)
        loaded = {u.scenario: u.patient_id for u in done}
        deadline = time.monotonic() + args.timeout
        while not _ready(f"{public_url}/readyz"):
            if proc.poll() is not None:
                return fail(f"the service exited during start-up (exit code {proc.returncode}); see its log above", 1)
            if time.monotonic() > deadline:
                return fail(f"the service did not become ready within {args.timeout:g} s", 1)
            time.sleep(0.2)
        patient = args.patient or (DEFAULT_PATIENT if DEFAULT_PATIENT in loaded else next(iter(sorted(loaded)), None))
        if patient not in loaded:
            return fail(f"--patient {patient!r} was not loaded (its prefetch is about missing data)")
        url = sandbox_url(f"{public_url}/cds-services", fhir_url, loaded[patient], scenarios[patient]["hook"])
        _print_banner(public_url, fhir_url, len(loaded), len(skipped), now, patient, url, dev)
        while proc.poll() is None:
            time.sleep(0.2)
        return fail(f"the service stopped (exit code {proc.returncode}); the FHIR server stops too", 1)
    except _Stop:
        print("\ncdshooks dev: stopping the service and the FHIR server", file=sys.stderr, flush=True)
        return 0
    except (OSError, RuntimeError) as exc:
        return fail(f"cannot start ({exc})", 1)
    finally:
        # No second _Stop in the middle of the clean-up: further signals wait for it (at most ~20 s).
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        if proc is not None:
            _stop_process(proc)
        if fhir is not None:
            fhir.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _print_banner(
    public_url: str, fhir_url: str, loaded: int, skipped: int, now: str | None, patient: str, url: str, dev: Path
) -> None:
    token_args = "" if dev == Path(".dev") else f" --dev-dir {dev}"
    token_args += "" if public_url == DEFAULT_SERVICE_URL else f" --url {public_url}"
    lines = [
        "",
        "Local sandbox ready. Ctrl-C stops everything.",
        f"  CDS services  {public_url}/cds-services  (JWT required: trusts the public sandbox"
        f" and the dev key in {dev}/)",
        f"  FHIR server   {fhir_url}  (in memory, open, loopback only: {loaded} patients, id = scenario name"
        + (f"; {skipped} scenarios about missing data skipped)" if skipped else ")"),
        f"  evaluation    {now or 'the real time'}" + (" (the fixtures' asOf)" if now else ""),
        "",
        f"Open the CDS Hooks sandbox on patient {patient} (any fixture name works as patientId):",
        f"  {url}",
        "",
        "Call it from a terminal with a dev token:",
        f'  curl -H "Authorization: Bearer $(cdshooks token{token_args})" {public_url}/cds-services',
        "",
    ]
    print("\n".join(lines), flush=True)


def _token(args: argparse.Namespace) -> int:
    from cdshooks.cli import devkey
    from cdshooks.services import SERVICES

    if args.aud:
        aud = args.aud
    else:
        base = args.url.rstrip("/") + "/cds-services"
        if args.service:
            by_hook = {s.hook: s.id for s in SERVICES.values()}
            service = by_hook.get(args.service, args.service)
            if service not in SERVICES:
                known = ", ".join(sorted(SERVICES) + sorted(by_hook))
                print(f"cdshooks token: unknown service {args.service!r} (one of: {known})", file=sys.stderr)
                return 2
            aud = f"{base}/{service}" + ("/feedback" if args.feedback else "")
        elif args.feedback:
            print("cdshooks token: --feedback needs --service", file=sys.stderr)
            return 2
        else:
            aud = base
    try:
        key = devkey.load_or_create_key(devkey.dev_dir(args.dev_dir))
        print(devkey.mint(key, aud, args.ttl))
    except (OSError, ValueError) as exc:
        print(f"cdshooks token: {exc}", file=sys.stderr)
        return 2
    return 0


def _ttl(value: str) -> int:
    from cdshooks.cli.devkey import MAX_TTL_SECONDS

    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of seconds") from None
    if not 1 <= n <= MAX_TTL_SECONDS:
        raise argparse.ArgumentTypeError(f"use 1-{MAX_TTL_SECONDS} seconds")
    return n


def _port(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None


def register(sub: argparse._SubParsersAction[Parser]) -> None:
    """Add `dev` and `token` to the main parser's subcommands."""
    dv = sub.add_parser(
        "dev",
        help="local sandbox: in-memory FHIR server with every fixture patient, the service (auth on), the sandbox URL",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    dv.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help=f"service port on {HOST} (default: {DEFAULT_PORT})"
    )
    dv.add_argument(
        "--fhir-port",
        type=_port,
        default=DEFAULT_FHIR_PORT,
        help=f"FHIR server port on {HOST} (default: {DEFAULT_FHIR_PORT})",
    )
    dv.add_argument("--fixtures", default="fixtures", help="fixtures folder to load (default: fixtures)")
    dv.add_argument("--patient", help=f"scenario opened in the sandbox URL (default: {DEFAULT_PATIENT})")
    dv.add_argument("--now", help="evaluation time, ISO 8601 with offset (default: the fixtures' asOf)")
    dv.add_argument("--workers", type=int, default=2, help="gunicorn workers (default: 2)")
    dv.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for the service to start (default: 60.0)"
    )
    dv.add_argument("--dev-dir", help="folder of the dev key and state (default: CDSHOOKS_DEV_DIR, else .dev)")
    dv.set_defaults(func=_dev)

    tk = sub.add_parser(
        "token",
        help="print a short-lived JWT signed by the local dev key (trusted by `cdshooks dev`)",
        description="Print a CDS Hooks client JWT (ES384, iss/sub/aud/iat/exp/jti) signed by the dev key.",
    )
    tk.add_argument("--service", help="service id or hook name: aud = its URL (default: the discovery URL)")
    tk.add_argument("--feedback", action="store_true", help="aud = the service's feedback URL (needs --service)")
    tk.add_argument(
        "--url",
        default=os.environ.get("CDSHOOKS_PUBLIC_BASE_URL") or DEFAULT_SERVICE_URL,
        help=f"base URL of the service (default: %(default)s, which is CDSHOOKS_PUBLIC_BASE_URL when set, "
             f"else {DEFAULT_SERVICE_URL})",
    )
    tk.add_argument("--aud", help="the exact `aud` (overrides --url/--service; default: the URL of --service)")
    tk.add_argument("--ttl", type=_ttl, default=300, help="lifetime in seconds (default: 300)")
    tk.add_argument("--dev-dir", help="folder of the dev key (default: CDSHOOKS_DEV_DIR, else .dev)")
    tk.set_defaults(func=_token)

"""The ``genesis-lab`` command line: run, worker, validate, show."""

from __future__ import annotations

import enum
import getpass
import json
import logging
import signal
import sys
import threading
import uuid
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from genesis_lab.cli._bench import bench_app
from genesis_lab.cli._broker_options import (
    NO_BROKER_OPTIONS,
    BrokerOptions,
    with_broker_options,
)
from genesis_lab.cli._campaign_run import WORKER_TRIAL_LOGGER, check_broker_url, run_campaign
from genesis_lab.cli._control import estop, pause
from genesis_lab.cli._devices import devices_app
from genesis_lab.cli._exits import EXIT_BAD_INPUT, EXIT_FAILED, err, fail
from genesis_lab.cli._export import export
from genesis_lab.cli._keygen import keygen
from genesis_lab.cli._logging import VerboseOption, command_logging
from genesis_lab.cli._outbox_status import show_outbox_status
from genesis_lab.cli._render import (
    format_parameters,
    goals_text,
    trial_report,
    trial_table,
)
from genesis_lab.cli._report import report
from genesis_lab.cli._review import replay, verify
from genesis_lab.cli._running import default_outbox
from genesis_lab.cli._security import security_app
from genesis_lab.cli._signing_options import (
    MaxAge,
    SigningKeyOption,
    StationKeyOption,
    StationTrust,
    Trust,
    campaign_signing,
    load_key,
    load_trusted,
    signing,
    warn_unsigned,
)
from genesis_lab.errors import (
    CampaignFileError,
    DataFileError,
    DeviceUnreachableError,
    GenesisLabError,
    PlannerError,
    StationError,
    StationTakenError,
)
from genesis_lab.messages import ManualTrialRequest, campaign_control_topic, encode_message
from genesis_lab.messaging import MqttClient
from genesis_lab.security import MessageSigner
from genesis_lab.spec import (
    CampaignFile,
    CampaignSpec,
    StationRef,
    load_campaign,
    parse_key_values,
)
from genesis_lab.store import CampaignRecord

__all__ = ["app", "main"]


class PlannerKind(enum.StrEnum):
    """``run --planner``: the campaign file's ``planner: {kind: ...}``."""

    bayesian = "bayesian"
    random = "random"


app = typer.Typer(
    name="genesis-lab",
    help="Closed-loop autonomous laboratory controller: a Bayesian-optimization planner "
    "proposes experiments, a Bluesky RunEngine runs them on Ophyd devices, results come "
    "back over MQTT.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(bench_app, name="bench")
app.command()(estop)
app.command()(pause)
app.command()(report)
app.command()(export)
app.command()(verify)
app.command()(replay)
app.add_typer(devices_app, name="devices")
app.add_typer(security_app, name="security")
security_app.command("keygen")(keygen)

out = Console()
log = logging.getLogger(__name__)

#: In ``run`` and ``resume``, the trial lines say what the local worker's lines would.
QUIET_IN_RUN = (WORKER_TRIAL_LOGGER,)

CampaignPath = Annotated[Path, typer.Argument(help="Campaign file (YAML).", show_default=False)]


def main() -> None:
    """Entry point of the ``genesis-lab`` script: an error nobody expected (a bug, here or
    in a plugin) is one line, its traceback shown only with -v."""
    try:
        app()
    except Exception as exc:
        if "-v" in sys.argv[1:] or "--verbose" in sys.argv[1:]:
            raise
        err.print(
            f"[bold red]error:[/] unexpected {type(exc).__name__}: {escape(str(exc))} "
            "(a bug in genesis-lab or a plugin: run again with -v for the traceback, and "
            "report it)",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(EXIT_FAILED)


def _checked_campaign(path: Path) -> CampaignFile:
    """Load, validate, and check the campaign against its station; exit 2 on any problem in
    the file, 1 if a device of its station cannot be reached (one line: which, where)."""
    from genesis_lab.station import check_campaign_fits  # bluesky: only when needed

    try:
        campaign = load_campaign(path)
        problems = check_campaign_fits(campaign)
        from genesis_lab.planning import BayesianPlanner  # torch: only when needed

        try:
            BayesianPlanner.from_spec(campaign.spec)  # what only the search space can tell
        except PlannerError as exc:
            problems.append(campaign.problem(("constraints",), str(exc)))
        if problems:
            raise CampaignFileError(str(path), problems)
    except CampaignFileError as exc:
        err.print(f"[bold red]error:[/] {path} is not a valid campaign file:", markup=True)
        err.print(str(exc), highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except DeviceUnreachableError as exc:
        log.info("the station of %s cannot be built", path, exc_info=True)
        fail(f"{path}: {exc}", EXIT_FAILED)
    return campaign


# ------------------------------------------------------------------ validate
@app.command()
def validate(
    path: CampaignPath,
    log_file: Annotated[
        Path | None,
        typer.Option(
            help="Write the full log (every step, every traceback) here, appended. Default: none.",
            show_default=False,
        ),
    ] = None,
    verbose: VerboseOption = False,
) -> None:
    """Check a campaign file without running it: fields, types, bounds, station and devices.

    Builds the station, so a lab file's instruments must answer. Exits 0 if it is valid, 2
    with every problem (field and line) if not, 1 if a device cannot be reached (one line:
    the device, its address, what to check).
    """
    command_logging(verbose=verbose, log_file=log_file)
    campaign = _checked_campaign(path)
    spec = campaign.spec
    out.print(
        f"[green]ok[/] {path}: campaign {spec.name!r}, {len(spec.parameters)} parameters, "
        f"{goals_text(spec)}, budget {spec.budget}, station {spec.station.station_id!r}",
        highlight=False,
    )


# ----------------------------------------------------------------------- run
def _with_overrides(
    spec: CampaignSpec, budget: int | None, seed: int | None, planner: str | None = None
) -> CampaignSpec:
    update: dict[str, Any] = {}
    if planner is not None:
        update["planner"] = {**spec.planner.model_dump(), "kind": planner}
    if budget is not None:
        if budget < 1:
            fail(f"--budget must be at least 1, got {budget}", EXIT_BAD_INPUT)
        update["budget"] = budget
        if spec.initial_design > budget:
            update["initial_design"] = budget
            out.print(f"note: initial_design lowered to {budget} to fit --budget")
    if seed is not None:
        if seed < 0:
            fail(f"--seed must be 0 or more, got {seed}", EXIT_BAD_INPUT)
        update["seed"] = seed
    return CampaignSpec.model_validate({**spec.model_dump(), **update})


@app.command()
@with_broker_options
def run(
    path: CampaignPath,
    broker: Annotated[
        str | None,
        typer.Option(
            help="'embedded' (start an in-process broker), mqtt://HOST:PORT or "
            "mqtts://HOST:PORT (TLS). Default: the campaign file's 'broker'."
        ),
    ] = None,
    local_worker_: Annotated[
        bool,
        typer.Option(
            "--local-worker/--no-local-worker",
            help="Serve the station from this process, or rely on a worker started "
            "elsewhere with 'genesis-lab worker'.",
        ),
    ] = True,
    budget: Annotated[int | None, typer.Option(help="Override the number of experiments.")] = None,
    seed: Annotated[int | None, typer.Option(help="Override the planner's seed.")] = None,
    planner: Annotated[
        PlannerKind | None,
        typer.Option(
            help="Override the campaign's planner: bayesian, or random, the baseline a "
            "Bayesian campaign is measured against (the record says which ran).",
            metavar="KIND",
            show_default=False,
        ),
    ] = None,
    record: Annotated[
        Path | None,
        typer.Option(help="Record file to write (SQLite). Default: records/<campaign id>.sqlite"),
    ] = None,
    presence_timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the station's worker to come online.")
    ] = 30.0,
    prior: Annotated[
        Path | None,
        typer.Option(
            help="CSV of earlier results (columns: every parameter and the objective) "
            "the model starts from; they are recorded as 'prior' trials."
        ),
    ] = None,
    signing_key: SigningKeyOption = None,
    station_key: StationKeyOption = None,
    station_trust: StationTrust = None,
    log_file: Annotated[
        Path | None,
        typer.Option(
            help="Write the full log (every step, every traceback) here, appended. "
            "Default: beside the record, <record>.log.",
            show_default=False,
        ),
    ] = None,
    verbose: VerboseOption = False,
    broker_options: BrokerOptions = NO_BROKER_OPTIONS,
) -> None:
    """Run a campaign: propose, run and learn from experiments until the budget is spent.

    Shows a live progress bar and a line per trial (parameters and outcome, with units),
    then the best parameters and value and where the record is. Problems are one line
    each; their tracebacks go to the log file (or, with -v, to the terminal too).
    """
    command_log = command_logging(verbose=verbose, log_file=log_file, quiet=QUIET_IN_RUN)
    from genesis_lab.orchestration import (
        new_campaign_id,
        read_prior_csv,
    )

    campaign = _checked_campaign(path)
    spec = _with_overrides(campaign.spec, budget, seed, None if planner is None else planner.value)
    try:
        prior_results = [] if prior is None else read_prior_csv(prior, spec)
    except DataFileError as exc:
        err.print(f"[bold red]error:[/] {escape(str(prior))} does not fit the campaign:")
        err.print(str(exc), highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    campaign_id = new_campaign_id(spec.name)
    run_campaign(
        spec,
        campaign.text,
        campaign_id,
        record or Path("records") / f"{campaign_id}.sqlite",
        broker=broker or spec.broker,
        with_worker=local_worker_,
        presence_timeout=presence_timeout,
        prior=prior_results,
        prior_source=str(prior or ""),
        broker_options=broker_options,
        keys=campaign_signing(
            signing_key,
            station_key,
            station_trust,
            with_worker=local_worker_,
            station_id=spec.station.station_id,
        ),
        out=out,
        command_log=command_log,
    )


# -------------------------------------------------------------------- resume
@app.command()
@with_broker_options
def resume(
    record: Annotated[
        Path, typer.Argument(help="Campaign record file (SQLite).", show_default=False)
    ],
    campaign_id: Annotated[
        str | None,
        typer.Option("--campaign", help="Campaign id in the record. Default: the latest."),
    ] = None,
    broker: Annotated[
        str | None,
        typer.Option(
            help="'embedded', mqtt://HOST:PORT or mqtts://HOST:PORT (TLS). Default: the "
            "broker the campaign ran on."
        ),
    ] = None,
    local_worker_: Annotated[
        bool,
        typer.Option(
            "--local-worker/--no-local-worker",
            help="Serve the station from this process (its outbox next to the record), or "
            "rely on the worker started elsewhere with 'genesis-lab worker'.",
        ),
    ] = True,
    presence_timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the station's worker to come online.")
    ] = 30.0,
    signing_key: SigningKeyOption = None,
    station_key: StationKeyOption = None,
    station_trust: StationTrust = None,
    log_file: Annotated[
        Path | None,
        typer.Option(
            help="Write the full log (every step, every traceback) here, appended. "
            "Default: beside the record, <record>.log (the run's own log, continued).",
            show_default=False,
        ),
    ] = None,
    verbose: VerboseOption = False,
    broker_options: BrokerOptions = NO_BROKER_OPTIONS,
) -> None:
    """Resume a campaign whose orchestrator stopped (killed, crashed, interrupted).

    Rebuilds the planner from the record, takes up the trials that were in flight (the
    station's worker sends again whatever the record lacks), and runs the rest of the
    budget: the record ends as a run without the interruption would have ended it.
    """
    command_log = command_logging(verbose=verbose, log_file=log_file, quiet=QUIET_IN_RUN)
    try:
        with CampaignRecord(record, read_only=True) as store:
            rows = store.campaigns()
    except GenesisLabError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    if campaign_id is not None:
        rows = [row for row in rows if row.campaign_id == campaign_id]
    if not rows:
        fail(f"no campaign {campaign_id or ''} in {record}".replace("  ", " "), EXIT_BAD_INPUT)
    row = rows[-1]
    if row.status == "completed":
        fail(
            f"campaign {row.campaign_id} in {record} completed ({row.stop_reason}); "
            "there is nothing to resume",
            EXIT_BAD_INPUT,
        )
    spec = CampaignSpec.model_validate(row.spec)
    run_campaign(
        spec,
        row.spec_text,
        row.campaign_id,
        record,
        broker=broker or spec.broker,
        with_worker=local_worker_,
        presence_timeout=presence_timeout,
        resume=True,
        broker_options=broker_options,
        keys=campaign_signing(
            signing_key,
            station_key,
            station_trust,
            with_worker=local_worker_,
            station_id=spec.station.station_id,
        ),
        out=out,
        command_log=command_log,
    )


# -------------------------------------------------------------------- worker
def _parse_options(options: list[str], *, what: str = "--option") -> dict[str, Any]:
    try:
        return parse_key_values(options, what)
    except ValueError as exc:
        fail(str(exc), EXIT_BAD_INPUT)


@app.command()
@with_broker_options
def worker(
    station: Annotated[
        str | None,
        typer.Option(help="Station plugin to serve (see the list in the error if unsure)."),
    ] = None,
    station_id: Annotated[
        str | None,
        typer.Option("--id", help="Station id on the wire. Default: the plugin name."),
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option("--option", "-o", help="Plugin option KEY=VALUE; repeat for several."),
    ] = None,
    campaign: Annotated[
        Path | None,
        typer.Option(help="Take the station (plugin, id, options) from this campaign file."),
    ] = None,
    broker: Annotated[
        str, typer.Option(help="Broker to serve on, mqtt://HOST:PORT or mqtts://HOST:PORT (TLS).")
    ] = "mqtt://127.0.0.1:1883",
    outbox: Annotated[
        Path | None,
        typer.Option(
            help="The worker's outbox and journal (SQLite): every result is kept here until "
            "the orchestrator has stored it, and a restarted worker takes up from it. "
            "Default: outbox-<station id>.sqlite in $GENESIS_LAB_STATE_DIR, else "
            "$XDG_STATE_HOME/genesis-lab, else ~/.local/state/genesis-lab."
        ),
    ] = None,
    ack_timeout: Annotated[
        float,
        typer.Option(
            help="Seconds to wait for the orchestrator's acknowledgement of a result before "
            "sending it again (then twice as long each time, at most 300 s)."
        ),
    ] = 5.0,
    outbox_expiry: Annotated[
        float,
        typer.Option(
            min=1,
            help="Seconds after which the results of a campaign that has acknowledged "
            "nothing (it ended, or never had an orchestrator: a misrouted request) are set "
            "aside instead of being sent again forever. Kept in the outbox file; see "
            "--outbox-status.",
        ),
    ] = 7 * 86400.0,
    outbox_status: Annotated[
        bool,
        typer.Option(
            "--outbox-status",
            help="Show what the outbox holds (waiting results per campaign, unfinished "
            "trials, what was set aside and why) and exit; needs no broker.",
        ),
    ] = False,
    station_key: StationKeyOption = None,
    trust: Trust = None,
    max_age: MaxAge = 60.0,
    log_file: Annotated[
        Path | None,
        typer.Option(
            help="Write the full log (every step, every traceback) here, appended. "
            "Default: beside the outbox, <outbox>.log.",
            show_default=False,
        ),
    ] = None,
    verbose: VerboseOption = False,
    broker_options: BrokerOptions = NO_BROKER_OPTIONS,
) -> None:
    """Serve one instrument station: run the experiments an orchestrator sends, until Ctrl-C.

    Give the station with --station (and --option), or take it from --campaign. Results
    not yet stored by the orchestrator survive a crash in the outbox; start the worker
    again with the same outbox and they are sent again. Each failed trial is one line
    (its trial, its device, why); tracebacks go to the log file (with -v, here too).
    """
    command_log = command_logging(verbose=verbose, log_file=log_file)
    check_broker_url(broker)
    options = broker_options
    security = options.for_external(broker)
    trusted = load_trusted(trust)
    worker_signing = signing(load_key(station_key), "", trusted, max_age)
    if campaign is not None:
        ref = _checked_campaign(campaign).spec.station
        if station_id is not None:
            ref = StationRef(plugin=ref.plugin, id=station_id, options=ref.options)
    elif station is not None:
        try:
            ref = StationRef(plugin=station, id=station_id, options=_parse_options(option or []))
        except ValueError as exc:
            fail(str(exc), EXIT_BAD_INPUT)
    else:
        from genesis_lab.station import available_stations

        installed = ", ".join(sorted(available_stations())) or "none"
        fail(
            f"give --station PLUGIN or --campaign FILE (installed plugins: {installed})",
            EXIT_BAD_INPUT,
        )
    outbox_path = outbox or default_outbox(ref.station_id)
    if outbox_status:
        if not outbox_path.exists():
            fail(f"no outbox at {outbox_path} (give --outbox PATH)", EXIT_BAD_INPUT)
        show_outbox_status(outbox_path, out, expiry_s=outbox_expiry)
        return
    worker_log = command_log.default_file(outbox_path.with_suffix(".log"))
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    from genesis_lab.worker import local_worker

    previous = signal.signal(signal.SIGTERM, _on_signal)
    try:
        with local_worker(
            ref,
            broker,
            outbox=outbox_path,
            ack_timeout_s=ack_timeout,
            outbox_expiry_s=outbox_expiry,
            security=security,
            signing=worker_signing,
        ) as serving:
            out.print(
                f"worker for station {ref.station_id!r} ({ref.plugin}) serving on "
                f"{broker} ({security.describe()}; outbox {outbox_path}; log {worker_log}); "
                "Ctrl-C to stop",
                highlight=False,
                soft_wrap=True,
            )
            if trusted:
                keys = ", ".join(key.key_id for key in trusted)
                out.print(f"requires signed requests and controls (keys {keys})")
            else:
                warn_unsigned("this worker's input", "without --trust it obeys unsigned ones")
            try:
                while not stop.wait(0.5):
                    pass
            except KeyboardInterrupt:
                pass
            stats = serving.stats
        out.print(
            f"worker stopped: {stats.completed} completed, {stats.failed} failed, "
            f"{stats.rejected} rejected, {stats.malformed} refused messages"
            + "".join(f", {n} {reason}" for reason, n in sorted(stats.refusals.items())),
            highlight=False,
        )
    except StationError as exc:
        log.info("worker for station %s stopped", ref.station_id, exc_info=True)
        taken_or_unreachable = isinstance(exc, ConnectionError | StationTakenError)
        fail(str(exc), EXIT_FAILED if taken_or_unreachable else EXIT_BAD_INPUT)
    except GenesisLabError as exc:
        log.info("worker for station %s failed", ref.station_id, exc_info=True)
        fail(str(exc), EXIT_FAILED)
    finally:
        signal.signal(signal.SIGTERM, previous)


# ------------------------------------------------------------------- suggest
@app.command()
@with_broker_options
def suggest(
    campaign_id: Annotated[
        str,
        typer.Argument(
            help="Id of the running campaign (printed when it starts).", show_default=False
        ),
    ],
    values: Annotated[
        list[str],
        typer.Argument(help="NAME=VALUE for every parameter of the campaign.", show_default=False),
    ],
    broker: Annotated[
        str,
        typer.Option(
            help="Broker the campaign runs on, mqtt://HOST:PORT or mqtts://HOST:PORT (TLS)."
        ),
    ] = "mqtt://127.0.0.1:1883",
    by: Annotated[
        str | None, typer.Option(help="Who asks (recorded with the trial). Default: your login.")
    ] = None,
    signing_key: SigningKeyOption = None,
    broker_options: BrokerOptions = NO_BROKER_OPTIONS,
) -> None:
    """Ask a running campaign to run an experiment of your own choosing next.

    The orchestrator checks the values against the campaign's parameters and runs the
    experiment before its next proposal; the planner learns from it like any other. A
    refused request is logged by the orchestrator and shows in no trial.
    """
    check_broker_url(broker)
    options = broker_options
    security = options.for_external(broker)
    parameters = _parse_options(values, what="parameter")
    key = load_key(signing_key)
    if key is None:
        warn_unsigned("the request", "a campaign run with --signing-key refuses it")
    try:
        request = ManualTrialRequest(
            campaign_id=campaign_id, parameters=parameters, requested_by=by or getpass.getuser()
        )
        if key is not None:
            request = MessageSigner(key, request.requested_by or key.key_id).sign(request)
        with MqttClient(
            broker, client_id=f"genesis-lab-suggest-{uuid.uuid4().hex[:8]}", security=security
        ) as client:
            client.publish_and_wait(campaign_control_topic(campaign_id), encode_message(request))
    except ValidationError as exc:
        fail(f"not a valid manual trial: {exc.errors()[0]['msg']}", EXIT_BAD_INPUT)
    except GenesisLabError as exc:
        fail(str(exc), EXIT_FAILED)
    out.print(f"sent to campaign {campaign_id}: " + ", ".join(values), highlight=False)


# ---------------------------------------------------------------------- show
@app.command()
def show(
    record: Annotated[
        Path, typer.Argument(help="Campaign record file (SQLite).", show_default=False)
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
    campaign_id: Annotated[
        str | None, typer.Option("--campaign", help="Campaign id in the record. Default: latest.")
    ] = None,
    trial_id: Annotated[
        str | None,
        typer.Option(
            "--trial",
            help="Show one trial in full: why the planner chose it (model prediction, "
            "uncertainty, acquisition value, length scales), its history and documents.",
        ),
    ] = None,
) -> None:
    """Show a campaign's trials (id, state, parameters, outcome) and its best result."""
    from genesis_lab.review import (
        summarize,
        trial_detail,
    )

    try:
        with CampaignRecord(record, read_only=True) as store:
            if trial_id is not None:
                detail = trial_detail(store, trial_id, campaign_id)
            summary = summarize(store, campaign_id)
    except GenesisLabError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    if trial_id is not None:
        if as_json:
            typer.echo(json.dumps(detail.to_json(), indent=2))
        else:
            out.print(trial_report(detail), highlight=False, soft_wrap=True)
        return
    if as_json:
        typer.echo(json.dumps(summary.to_json(), indent=2))
        return
    out.print(trial_table(summary))
    campaign = summary.campaign
    out.print(
        f"status: {campaign.status} ({campaign.stop_reason}); {summary.documents} documents stored",
        highlight=False,
        soft_wrap=True,
    )
    if summary.best is not None:
        values = format_parameters(summary.best.parameters)
        out.print(
            f"best: {summary.objective}={summary.best.outcome:.4g} at {values} "
            f"(trial {summary.best.trial_id})",
            highlight=False,
            soft_wrap=True,  # never broken mid-value; the terminal wraps it
        )
    if summary.pareto_front:
        out.print(f"Pareto front ({len(summary.pareto_front)} trials, marked P):", highlight=False)
        for trial in summary.pareto_front:
            out.print(
                f"  {trial.trial_id}: {format_parameters(trial.outcomes or {})}"
                f" at {format_parameters(trial.parameters)}",
                highlight=False,
            )

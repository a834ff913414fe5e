"""Run (or resume) a campaign in the terminal: the progress bar, the logs above it, the end.

Shared by ``run`` and ``resume``. The live progress bar owns the terminal while the
campaign runs: log lines print through its console, one per problem; each trial's line
says what was tried and what came of it, with units.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from genesis_lab.cli._broker_options import BrokerOptions
from genesis_lab.cli._exits import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED, err, fail
from genesis_lab.cli._logging import CommandLog, logs_through
from genesis_lab.cli._render import CampaignProgress, quantity_units, with_units
from genesis_lab.cli._running import announce_run
from genesis_lab.cli._signing_options import CampaignSigning
from genesis_lab.errors import GenesisLabError, StationError
from genesis_lab.messaging import broker_session
from genesis_lab.spec import CampaignSpec, parse_broker_url
from genesis_lab.store import CampaignRecord

__all__ = ["WORKER_TRIAL_LOGGER", "check_broker_url", "run_campaign"]

log = logging.getLogger(__name__)

#: The local worker's line per ended trial: the progress line says it in ``run``.
WORKER_TRIAL_LOGGER = "genesis_lab.worker.trials"


def check_broker_url(url: str) -> None:
    """Exit 2 naming ``--broker`` if ``url`` is not a broker URL."""
    try:
        parse_broker_url(url)
    except ValueError as exc:
        fail(f"--broker: {exc}", EXIT_BAD_INPUT)


def run_campaign(
    spec: CampaignSpec,
    spec_text: str,
    campaign_id: str,
    record_path: Path,
    *,
    broker: str,
    with_worker: bool,
    presence_timeout: float,
    prior: list[Any] | None = None,
    prior_source: str = "",
    resume: bool = False,
    broker_options: BrokerOptions | None = None,
    keys: CampaignSigning | None = None,
    out: Console,
    command_log: CommandLog,
) -> None:
    """Run (or resume) a campaign with a progress bar, then say how it ended.

    The full log goes to ``command_log``'s file, by default ``<record>.log`` beside the
    record."""
    from genesis_lab.orchestration import CampaignRunner
    from genesis_lab.worker import local_worker

    if broker != "embedded":
        check_broker_url(broker)
    if broker == "embedded" and not with_worker:
        fail(
            "--no-local-worker needs an external broker (--broker mqtt://HOST:PORT): "
            "a worker in another process cannot reach this process's embedded broker",
            EXIT_BAD_INPUT,
        )
    security = (broker_options or BrokerOptions()).resolve(broker)
    log_file = command_log.default_file(record_path.with_suffix(".log"))
    try:
        with (
            broker_session(broker) as url,
            CampaignRecord(record_path) as store,
            announce_run(campaign_id, url, spec.station.station_id),
        ):
            verb = "resuming" if resume else "campaign"
            out.print(
                f"{verb} {campaign_id}: {spec.budget} experiments on station "
                f"{spec.station.station_id!r} via {url}"
                + (f" ({security.describe()})" if security is not None else ""),
                highlight=False,
            )
            out.print(
                "pause, e-stop: 'genesis-lab pause', 'genesis-lab estop' (from this machine "
                "they find this broker)",
                highlight=False,
            )
            out.print(
                f"log (every step and traceback): {log_file}", highlight=False, soft_wrap=True
            )
            with CampaignProgress(out, spec) as progress, logs_through(out):
                runner = CampaignRunner(
                    spec,
                    spec_text=spec_text,
                    record=store,
                    broker_url=url,
                    campaign_id=campaign_id,
                    progress=progress,
                    presence_timeout_s=presence_timeout,
                    prior=prior or [],
                    prior_source=prior_source,
                    resume=resume,
                    security=security,
                    signing=(keys or CampaignSigning()).orchestrator,
                )
                if with_worker:
                    outbox = record_path.parent / f"outbox-{spec.station.station_id}.sqlite"
                    with local_worker(
                        spec.station,
                        url,
                        outbox=outbox,
                        security=security,
                        signing=(keys or CampaignSigning()).local_worker,
                    ):
                        result = runner.run()
                else:
                    result = runner.run()
            entries, head = store.chain_head()
    except KeyboardInterrupt:
        err.print(  # never wrapped: the paths are copied from it
            f"interrupted; the record so far is in {record_path} "
            f"(continue with 'genesis-lab resume {record_path}')",
            soft_wrap=True,
            highlight=False,
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except StationError as exc:  # before any dispatch: nothing in flight was touched
        log.info("campaign %s stopped", campaign_id, exc_info=True)
        fail(
            f"{exc}. The campaign is stopped, its trials in flight left as they are (the "
            f"worker keeps their results): start the worker, then 'genesis-lab resume "
            f"{record_path}'",
            EXIT_FAILED,
        )
    except GenesisLabError as exc:
        log.info("campaign %s failed", campaign_id, exc_info=True)
        fail(f"{exc} (record: {record_path})", EXIT_FAILED)
    states = ", ".join(f"{n} {s.lower()}" for s, n in sorted(result.states.items()))
    out.print(f"done: {result.stop_reason}; {states}", highlight=False)
    if result.best_parameters is not None:
        units = quantity_units(spec)
        values = ", ".join(with_units(n, v, units) for n, v in result.best_parameters.items())
        best = with_units(spec.primary_objective.name, result.best_value, units)
        out.print(
            f"best: {best} at {values} (trial {result.best_trial})",
            highlight=False,
            soft_wrap=True,
        )
    else:
        out.print("best: no experiment completed", highlight=False)
    # soft_wrap: a path an operator copies is never broken across lines
    out.print(f"record: {result.record_path}", highlight=False, soft_wrap=True)
    sealed = (
        f", sealed by orchestrator key {keys.orchestrator.key.key_id}"
        if keys is not None and keys.orchestrator is not None and keys.orchestrator.key
        else ""
    )
    out.print(
        f"record chain head: {head} ({entries} entries{sealed}); note it, and check the "
        f"record with 'genesis-lab verify {result.record_path}'",
        highlight=False,
        soft_wrap=True,
    )

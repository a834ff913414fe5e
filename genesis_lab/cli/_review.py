"""``genesis-lab verify`` and ``replay``: a reviewer's checks of a campaign record.

``verify`` walks the record's hash chain and checks every table against it; ``replay``
re-runs the planner on the recorded history and checks each proposal. Both exit 0 when the
record holds up, 1 when it does not (the first problem named), 2 for a bad argument or a
file that is not a record. ``replay --against SIMULATOR`` re-runs the recorded experiments
on a simulated station instead (:mod:`._against`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from genesis_lab.cli._against import replay_against
from genesis_lab.cli._exits import EXIT_FAILED, err, fail
from genesis_lab.cli._signing_options import load_trusted
from genesis_lab.errors import GenesisLabError
from genesis_lab.security import PublicKey
from genesis_lab.store import CampaignRecord

if TYPE_CHECKING:
    from genesis_lab.review import SealCheck

__all__ = ["replay", "verify"]

out = Console()


RecordPath = Annotated[
    Path, typer.Argument(help="Campaign record file (SQLite).", show_default=False)
]
AsJson = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _open(path: Path) -> CampaignRecord:
    if not path.is_file():
        fail(f"no record at {path}")
    try:
        return CampaignRecord(path, read_only=True)
    except GenesisLabError as exc:
        fail(str(exc))


def verify(
    record: RecordPath,
    as_json: AsJson = False,
    trust: Annotated[
        list[Path] | None,
        typer.Option(
            "--trust",
            metavar="FILE",
            help="Pin a key the record must have been made with (repeat; a directory: each "
            "of its *.pub): the orchestrator's public key, and each station's (a .pub file "
            "naming its station). Every key the "
            "record holds must then be pinned, and its last seal be by a pinned "
            "orchestrator key with nothing written after it.",
            show_default=False,
        ),
    ] = None,
    head: Annotated[
        str | None,
        typer.Option(
            "--head",
            metavar="HASH",
            help="A chain head noted elsewhere earlier (run prints it): the record's chain "
            "must still pass through it.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Check that nothing in a campaign record was altered, removed or inserted after it
    was written: every entry of its hash chain, then every table against the chain.

    Names the first problem (a ledger entry, a trial's field, a document's uid) and exits
    1 if there is one. Prints the chain's head hash: note it, and a later copy that
    verifies with the same head is the same record. Documents stored with their station's
    signature are checked against the station keys the record holds (each bound to its
    station): a measurement changed after the station signed it fails even in a
    consistently rewritten record. Every completed trial's result is recomputed from its own
    run's documents: an outcome changed in the trials table fails too. Seals (the chain
    head signed by the orchestrator at the end of a run) are checked against its key."""
    from genesis_lab.review import check_record

    pinned = _pinned_keys(trust)
    with _open(record) as store:
        try:
            check = check_record(store, pinned, None if head is None else head.strip())
        except GenesisLabError as exc:
            fail(str(exc))
    result, signatures, seals = check.chain, check.signatures, check.seals
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "ok": result.ok,
                    "entries": result.entries,
                    "head": result.head,
                    "problems": [{"where": p.where, "what": p.what} for p in result.problems],
                    "signatures": {
                        "documents": signatures.documents,
                        "signed": signatures.signed,
                        "verified": signatures.verified,
                        "signers": sorted(signatures.signers),
                    },
                    "seals": {
                        "seals": seals.seals,
                        "verified": seals.verified,
                        "sealed_head": seals.sealed_head,
                        "entries_after_last_seal": seals.unsealed_after,
                        "sealed_by": sorted(seals.sealers),
                        "keys_pinned": len(pinned),
                    },
                },
                indent=2,
            )
        )
    elif result.ok:
        out.print(
            f"{record}: verified, {result.entries} entries, chain head {result.head}",
            highlight=False,
            soft_wrap=True,
        )
        if signatures.signed:
            out.print(
                f"station signatures: {signatures.verified} of {signatures.documents} "
                f"documents signed, every signature verifies "
                f"(by {', '.join(sorted(signatures.signers))})",
                highlight=False,
                soft_wrap=True,
            )
        out.print(_seal_line(seals, pinned), highlight=False, soft_wrap=True)
        if head is not None:
            out.print(f"the chain passes through the noted head {head.strip()}", highlight=False)
    else:
        err.print(
            f"[bold red]{escape(str(record))}: {len(result.problems)} problem(s); the first:[/]",
            highlight=False,
            soft_wrap=True,
        )
        for problem in result.problems:
            err.print(f"  {escape(str(problem))}", highlight=False, soft_wrap=True)
    if not result.ok:
        raise typer.Exit(EXIT_FAILED)


def _pinned_keys(paths: list[Path] | None) -> list[PublicKey]:
    return list(load_trusted(paths))  # exits 2 naming a bad key file


def _seal_line(seals: SealCheck, pinned: list[PublicKey]) -> str:
    """What the seals say, for a record that verifies."""
    if not seals.verified:
        return (
            "not sealed: no orchestrator signed its chain head (run with --signing-key to "
            "seal it), so the chain proves nothing to someone who can rewrite the file; "
            "compare its head with one noted elsewhere (--head)"
        )
    against = "a pinned key" if pinned else "the key the record holds (pin it with --trust)"
    after = (
        f"; {seals.unsealed_after} entries written after the last seal"
        if seals.unsealed_after
        else ""
    )
    return (
        f"sealed: chain head {seals.sealed_head} signed by {', '.join(sorted(seals.sealers))}, "
        f"checked against {against}{after}"
    )


def replay(
    record: RecordPath,
    campaign_id: Annotated[
        str | None, typer.Option("--campaign", help="Campaign id in the record. Default: latest.")
    ] = None,
    tolerance: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="Largest difference between a replayed and a recorded parameter that still "
            "matches, as a fraction of the parameter's range.",
        ),
    ] = 1e-6,
    as_json: AsJson = False,
    against: Annotated[
        str | None,
        typer.Option(
            "--against",
            metavar="SIMULATOR",
            help="Re-run the recorded experiments on this station plugin (a simulator; "
            "default options: the record's own when it is the record's plugin) and compare "
            "recorded with simulated outcomes per trial, instead of replaying decisions.",
        ),
    ] = None,
    closed_loop: Annotated[
        bool,
        typer.Option(
            "--closed-loop",
            help="With --against: let the planner run afresh (same campaign file and seed) "
            "on the simulator and compare the two campaigns experiment by experiment.",
        ),
    ] = False,
    replay_record: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="With --against: the replay's own record. Default: next to RECORD, "
            "<stem>.replay-<simulator>.sqlite (or .closed-loop-).",
        ),
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option",
            "-o",
            metavar="KEY=VALUE",
            help="With --against: a simulator option (repeatable), e.g. -o seed=3.",
        ),
    ] = None,
    max_difference: Annotated[
        list[str] | None,
        typer.Option(
            "--max-difference",
            metavar="[NAME=]X",
            help="With --against: exit 3, naming each trial, when a trial's simulated and "
            "recorded value of an objective or outcome constraint differ by more than X, "
            "in that quantity's own units (trials completed in both). X alone: every "
            "objective and outcome constraint; NAME=X: that one (repeatable).",
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every step.")] = False,
) -> None:
    """Replay the planner's decisions from a record and check each proposal against it;
    or, with --against, re-run the recorded experiments on a simulator.

    Without --against: a fresh planner, built from the campaign file as run (same seed and
    settings), is given the recorded history call by call (each result as the record's
    trial holds it) and must propose what was recorded, within --tolerance. Names the first
    proposal that differs and why (different package versions, a different seed, data
    edited after it was written) and exits 1; exits 0 when every proposal matches.

    With --against SIMULATOR: the record is only read; the re-run is a campaign of its own
    in its own record, and a table compares recorded and simulated outcomes per trial with
    summary statistics (mean and largest difference, RMSE, correlation, state changes).
    Exits 3 when a difference exceeds --max-difference, 0 otherwise."""
    if against is not None:
        raise typer.Exit(
            replay_against(
                record,
                against,
                campaign_id=campaign_id,
                closed_loop=closed_loop,
                out=replay_record,
                as_json=as_json,
                verbose=verbose,
                options=option or [],
                max_difference=max_difference or [],
            )
        )
    if closed_loop or replay_record is not None or option or max_difference:
        fail("--closed-loop, --out, --option and --max-difference go with --against SIMULATOR")
    from genesis_lab.review import replay_decisions  # torch: only when needed

    def progress(done: int, total: int) -> None:
        if not as_json:
            err.print(f"replayed ask {done}/{total}", highlight=False)

    with _open(record) as store:
        try:
            result = replay_decisions(store, campaign_id, tolerance=tolerance, progress=progress)
        except GenesisLabError as exc:
            fail(str(exc))
    divergence = result.divergence
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "ok": result.ok,
                    "campaign_id": result.campaign_id,
                    "asks": result.asks,
                    "proposals": result.proposals,
                    "tolerance": result.tolerance,
                    "largest_difference": result.largest_difference,
                    "divergence": None
                    if divergence is None
                    else {
                        "ask": divergence.ask,
                        "trial_id": divergence.trial_id,
                        "recorded": divergence.recorded,
                        "replayed": divergence.replayed,
                        "recorded_origin": divergence.recorded_origin,
                        "replayed_origin": divergence.replayed_origin,
                        "difference": str(divergence.difference),
                    },
                    "causes": result.causes,
                    "record_problems": result.record_problems,
                },
                indent=2,
            )
        )
    elif divergence is None:
        out.print(
            f"campaign {result.campaign_id}: all {result.proposals} proposals of "
            f"{result.asks} asks match the record (largest difference "
            f"{result.largest_difference:.2g} of a parameter's range; tolerance {tolerance:g})",
            highlight=False,
            soft_wrap=True,
        )
    else:
        err.print(
            f"[bold red]campaign {escape(result.campaign_id)}: proposal "
            f"{escape(divergence.trial_id or '?')} (ask {divergence.ask}) does not match the "
            f"record[/] after {result.proposals - 1 if divergence.trial_id else result.proposals}"
            " that did",
            highlight=False,
            soft_wrap=True,
        )
        if divergence.trial_id:
            err.print(
                f"  recorded ({escape(divergence.recorded_origin)}): "
                f"{escape(str(divergence.recorded))}\n"
                f"  replayed ({escape(divergence.replayed_origin)}): "
                f"{escape(str(divergence.replayed))}\n"
                f"  difference: {divergence.difference:.3g} of a parameter's range "
                f"(tolerance {tolerance:g})",
                highlight=False,
                soft_wrap=True,
            )
        err.print("why, as far as the record tells:", highlight=False)
        for cause in result.causes:
            err.print(f"  - {escape(cause)}", highlight=False, soft_wrap=True)
    if result.record_problems and not as_json:
        err.print(
            f"[bold red]campaign {escape(result.campaign_id)}: the record is not what was "
            "run[/]" + (", although every proposal matched:" if divergence is None else ":"),
            highlight=False,
            soft_wrap=True,
        )
        for problem in result.record_problems:
            err.print(f"  - {escape(problem)}", highlight=False, soft_wrap=True)
    if not result.ok:
        raise typer.Exit(EXIT_FAILED)

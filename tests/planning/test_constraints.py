"""Linear constraints: parsed from the campaign, honoured by every proposal of every planner."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genesis_lab.errors import PlannerError
from genesis_lab.planning import BayesianPlanner, Proposal, RandomPlanner
from genesis_lab.spec import (
    ContinuousParameter,
    IntegerParameter,
    LinearConstraint,
    Objective,
    parse_constraint,
)

FAST = {"num_restarts": 4, "raw_samples": 64}
DYES = [ContinuousParameter(name=n, bounds=(0.0, 10.0), units="mL") for n in ("c", "m", "y")]
MINIMIZE = Objective(name="loss", direction="minimize", reading="det_loss")
CAP = parse_constraint("c + m + y <= 12")


def loss(parameters: Mapping[str, object]) -> float:
    c, m, y = (float(parameters[n]) for n in ("c", "m", "y"))  # type: ignore[arg-type]
    return (c - 3.2) ** 2 + (m - 6.1) ** 2 + (y - 1.5) ** 2


def lhs(constraint: LinearConstraint, proposal: Proposal) -> float:
    return sum(
        a * float(proposal.parameters[name])  # type: ignore[arg-type]
        for name, a in constraint.coefficients.items()
    )


def assert_satisfies(constraints: Sequence[LinearConstraint], proposal: Proposal) -> None:
    for constraint in constraints:
        value, rhs = lhs(constraint, proposal), constraint.rhs
        slack = 1e-6 * max(1.0, abs(rhs))
        if constraint.relation == "<=":
            assert value <= rhs + slack, (proposal, constraint)
        elif constraint.relation == ">=":
            assert value >= rhs - slack, (proposal, constraint)
        else:
            assert abs(value - rhs) <= slack, (proposal, constraint)


def drive(planner: BayesianPlanner | RandomPlanner, batches: Sequence[int]) -> list[Proposal]:
    """Ask ``batches`` in turn, telling each batch; every proposal, in order."""
    proposals: list[Proposal] = []
    for q in batches:
        batch = planner.ask(q)
        for proposal in batch:
            planner.tell(proposal.trial_id, {"loss": loss(proposal.parameters)})
        proposals.extend(batch)
    return proposals


# --- parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "coefficients", "relation", "rhs"),
    [
        ("cyan + magenta + yellow <= 12", {"cyan": 1, "magenta": 1, "yellow": 1}, "<=", 12),
        ("2*a - b >= 0.5", {"a": 2, "b": -1}, ">=", 0.5),
        ("x1 + x2 + x3 == 1", {"x1": 1, "x2": 1, "x3": 1}, "==", 1),
        ("-a+1.5e1 * b<=-3", {"a": -1, "b": 15}, "<=", -3),
        ("a + a >= 1", {"a": 2}, ">=", 1),
    ],
)
def test_good_constraints_parse(
    text: str, coefficients: dict[str, float], relation: str, rhs: float
) -> None:
    constraint = parse_constraint(text)
    assert constraint.coefficients == coefficients
    assert constraint.relation == relation
    assert constraint.rhs == rhs


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a + b", "exactly one relation"),
        ("a < 3", "exactly one relation"),
        ("a <= 1 <= 2", "exactly one relation"),
        ("a <= b", "must be a number"),
        ("a b <= 1", "cannot read 'b'"),
        ("2 * <= 1", "cannot read"),
        ("3 <= 1", "cannot read"),
        ("a <= inf", "finite"),
    ],
)
def test_bad_constraints_are_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_constraint(text)


# --- every proposal is feasible ----------------------------------------------------------


@pytest.mark.slow  # over 4 s: not in 'make check'
def test_every_bayesian_proposal_satisfies_an_inequality() -> None:
    planner = BayesianPlanner(DYES, MINIMIZE, seed=3, initial_design=5, constraints=[CAP], **FAST)
    proposals = drive(planner, [1, 2, 2, 1, 2, 2])
    origins = [p.origin for p in proposals]
    assert origins[:5] == ["sobol"] * 5
    assert "model" in origins[5:]
    for proposal in proposals:
        assert_satisfies([CAP], proposal)


def test_a_tight_cap_still_gives_feasible_sobol_points() -> None:
    tight = parse_constraint("c + m + y <= 3")  # 4.5% of the box
    planner = BayesianPlanner(DYES, MINIMIZE, seed=0, initial_design=10, constraints=[tight])
    for proposal in planner.ask(10):
        assert proposal.origin == "sobol"
        assert_satisfies([tight], proposal)


def test_an_almost_empty_region_is_a_planner_error() -> None:
    sliver = parse_constraint("c + m + y <= 0.000001")
    planner = RandomPlanner(DYES, MINIMIZE, constraints=[sliver])
    with pytest.raises(PlannerError, match="no feasible point"):
        planner.ask()


def test_every_random_proposal_satisfies_the_constraints() -> None:
    constraints = [CAP, parse_constraint("c - m >= -2")]
    planner = RandomPlanner(DYES, MINIMIZE, seed=5, constraints=constraints)
    for proposal in drive(planner, [3, 7, 10]):
        assert_satisfies(constraints, proposal)


@pytest.mark.slow  # over 4 s: not in 'make check'
def test_a_mixture_equality_holds_for_every_proposal() -> None:
    parts = [ContinuousParameter(name=n, bounds=(0.0, 1.0), units="1") for n in ("x1", "x2", "x3")]
    mixture = parse_constraint("x1 + x2 + x3 == 1")
    planner = BayesianPlanner(
        parts, MINIMIZE, seed=2, initial_design=3, constraints=[mixture], **FAST
    )
    proposals: list[Proposal] = []
    for q in (2, 1, 1, 2):
        batch = planner.ask(q)
        for proposal in batch:
            x = proposal.parameters
            value = (float(x["x1"]) - 0.2) ** 2 + (float(x["x2"]) - 0.5) ** 2  # type: ignore[arg-type]
            planner.tell(proposal.trial_id, {"loss": value})
        proposals.extend(batch)
    assert "model" in {p.origin for p in proposals}
    random = RandomPlanner(parts, MINIMIZE, seed=2, constraints=[mixture])
    for proposal in proposals + random.ask(5):
        assert_satisfies([mixture], proposal)


@pytest.mark.slow  # over 4 s: not in 'make check'
def test_constraints_work_beside_an_integer_parameter() -> None:
    space = [*DYES, IntegerParameter(type="integer", name="stages", bounds=(1, 4), units="1")]
    planner = BayesianPlanner(space, MINIMIZE, seed=1, initial_design=3, constraints=[CAP], **FAST)
    for proposal in drive(planner, [3, 1, 2]):
        assert_satisfies([CAP], proposal)
        assert type(proposal.parameters["stages"]) is int


# --- suggest, observe, construction --------------------------------------------------------


def test_suggest_and_observe_refuse_a_violating_point() -> None:
    planner = BayesianPlanner(DYES, MINIMIZE, constraints=[CAP])
    with pytest.raises(PlannerError, match=r"violates constraint 0 .*left-hand side is 15"):
        planner.suggest({"c": 5.0, "m": 5.0, "y": 5.0})
    with pytest.raises(PlannerError, match="violates constraint 0"):
        planner.observe({"c": 5.0, "m": 5.0, "y": 5.0}, {"loss": 1.0})
    assert planner.num_proposed == 0
    planner.suggest({"c": 4.0, "m": 4.0, "y": 4.0 + 1e-7})  # within the tolerance
    assert planner.num_proposed == 1


def test_a_constraint_on_an_integer_parameter_is_refused_by_the_planner() -> None:
    space = [*DYES, IntegerParameter(type="integer", name="stages", bounds=(1, 4), units="1")]
    with pytest.raises(PlannerError, match="'stages' is not a continuous linear-scale"):
        RandomPlanner(space, MINIMIZE, constraints=[parse_constraint("c + stages <= 3")])


@pytest.mark.slow  # over 4 s: not in 'make check'
def test_same_seed_gives_the_same_constrained_proposals() -> None:
    def values(seed: int) -> list[dict[str, object]]:
        planner = BayesianPlanner(
            DYES, MINIMIZE, seed=seed, initial_design=3, constraints=[CAP], **FAST
        )
        return [dict(p.parameters) for p in drive(planner, [2, 1, 1])]

    assert values(4) == values(4)
    assert values(4) != values(5)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    coefficients=st.lists(st.floats(-3, 3).filter(lambda a: abs(a) > 0.05), min_size=3, max_size=3),
    share=st.floats(0.1, 0.9),
    relation=st.sampled_from(["<=", ">="]),
    seed=st.integers(0, 1000),
)
def test_random_feasible_inequalities_hold_for_sobol_and_random_points(
    coefficients: list[float], share: float, relation: str, seed: int
) -> None:
    # rhs at a share of the left-hand side's range over the box: always feasible, never trivial
    low = sum(min(0.0, 10 * a) for a in coefficients)
    high = sum(max(0.0, 10 * a) for a in coefficients)
    constraint = LinearConstraint(
        coefficients=dict(zip(("c", "m", "y"), coefficients, strict=True)),
        relation=relation,  # type: ignore[arg-type]
        rhs=low + share * (high - low),
    )
    bayesian = BayesianPlanner(
        DYES, MINIMIZE, seed=seed, initial_design=4, constraints=[constraint]
    )
    random = RandomPlanner(DYES, MINIMIZE, seed=seed, constraints=[constraint])
    for proposal in bayesian.ask(4) + random.ask(4):
        assert_satisfies([constraint], proposal)


@pytest.mark.parametrize(
    "texts",
    [
        ["c <= 2", "c >= 5"],
        ["c + m == 4", "c + m >= 6"],
        ["c + m + y >= 25", "c + m <= 10", "y <= 10"],
    ],
)
def test_constraints_that_clash_are_refused_when_the_planner_is_built(texts: list[str]) -> None:
    constraints = [parse_constraint(text) for text in texts]
    with pytest.raises(PlannerError, match="cannot all hold at once"):
        BayesianPlanner(DYES, MINIMIZE, constraints=constraints)
    with pytest.raises(PlannerError, match="cannot all hold at once"):
        RandomPlanner(DYES, MINIMIZE, constraints=constraints)


def test_constraints_that_only_touch_are_not_a_clash() -> None:
    constraints = [parse_constraint("c + m <= 5"), parse_constraint("c + m >= 5")]
    planner = RandomPlanner(DYES, MINIMIZE, constraints=constraints)  # no PlannerError
    assert len(planner.constraints.inequality) == 2

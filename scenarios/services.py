"""Writes of the scenarios app: create a scenario (validated per kind, computed by a background job with a progress
bar), recompute it (another job), share or unshare it, delete it. The arithmetic is scenarios/engine.py; its
inputs come from scenarios/selectors.py."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from contracts.models import Contract
from intake.models import IntakeDecision, IntakeRule
from revops.jobs import job_create, job_enqueue, job_progress
from revops.models import Job, LevelOfCare, Payer, Program

from . import engine, selectors
from .models import Scenario, ScenarioKind

MAX_WINDOW = 24
MAX_HORIZON = 36
STRICTNESS = {IntakeDecision.ALLOWED: 0, IntakeDecision.ALLOWED_WITH_AUTHORIZATION: 1, IntakeDecision.NOT_ALLOWED: 2}


def _int(raw: Any, name: str) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise ValidationError({name: "Choose one."}) from None


def _decimal(raw: Any, name: str, *, lo: Decimal, hi: Decimal, default: Decimal | None = None) -> Decimal | None:
    if raw in (None, ""):
        return default
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise ValidationError({name: "Enter a number."}) from None
    if not value.is_finite() or not lo <= value <= hi:
        raise ValidationError({name: f"Enter a number from {lo} to {hi}."})
    return value


def _date(raw: Any, name: str) -> dt.date | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, dt.date):
        return raw
    try:
        return dt.date.fromisoformat(str(raw))
    except ValueError:
        raise ValidationError({name: "Enter a date as YYYY-MM-DD."}) from None


def clean_parameters(*, kind: str, parameters: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Validated, normalized parameters of ``kind`` and a one-line description of the change. Ids are looked up
    in the active organization (another organization's id is "not found")."""
    p = parameters or {}
    if kind == ScenarioKind.EXIT_CONTRACT:
        contract = Contract.objects.select_related("payer").filter(pk=_int(p.get("contract_id"), "contract_id")).first()
        if contract is None:
            raise ValidationError({"contract_id": "No such contract."})
        recapture = _decimal(p.get("recapture_pct"), "recapture_pct", lo=Decimal(0), hi=Decimal(100),
                             default=Decimal(0))
        return ({"contract_id": contract.pk, "recapture_pct": str(recapture)},
                f"Exit {contract.name} ({contract.payer.name})"
                + (f", {recapture}% of its volume re-captured by other payers" if recapture else ""))
    if kind == ScenarioKind.TIGHTEN_INTAKE_RULE:
        decision = p.get("decision") or ""
        if decision not in (IntakeDecision.ALLOWED_WITH_AUTHORIZATION, IntakeDecision.NOT_ALLOWED):
            raise ValidationError({"decision": "Choose not allowed, or allowed with authorization."})
        rule_id = p.get("rule_id")
        if rule_id not in (None, ""):
            rule = IntakeRule.objects.select_related("payer", "program").filter(pk=_int(rule_id, "rule_id")).first()
            if rule is None:
                raise ValidationError({"rule_id": "No such intake rule."})
            if STRICTNESS[decision] <= STRICTNESS[rule.decision]:
                raise ValidationError({"decision": f"The rule already says {rule.get_decision_display().lower()}: "
                                                   "choose a tighter decision."})
            payer, plan, program, level = rule.payer, rule.plan_name, rule.program, rule.level_of_care
            starts, ends = rule.effective_from, rule.effective_to
        else:
            starts, ends = _date(p.get("effective_from"), "effective_from"), _date(p.get("effective_to"),
                                                                                   "effective_to")
            if starts and ends and ends < starts:
                raise ValidationError({"effective_to": "The rule's end cannot come before its start."})
            payer = Payer.objects.filter(pk=_int(p.get("payer_id"), "payer_id")).first()
            if payer is None:
                raise ValidationError({"payer_id": "No such payer."})
            plan = str(p.get("plan_name") or "").strip()
            program, level = None, str(p.get("level_of_care") or "")
            if p.get("program_id") not in (None, ""):
                program = Program.objects.filter(pk=_int(p.get("program_id"), "program_id")).first()
                if program is None:
                    raise ValidationError({"program_id": "No such program."})
                level = ""
            elif level not in LevelOfCare.values:
                raise ValidationError({"program_id": "Choose a program (or a level of care)."})
        target = program.name if program else LevelOfCare(level).label
        span = " ".join(filter(None, [f"from {starts.isoformat()}" if starts else "",
                                      f"to {ends.isoformat()}" if ends else ""]))
        return ({"rule_id": int(rule_id) if rule_id not in (None, "") else None, "payer_id": payer.pk,
                 "plan_name": plan, "program_id": program.pk if program else None, "level_of_care": level,
                 "decision": decision, "effective_from": starts.isoformat() if starts else None,
                 "effective_to": ends.isoformat() if ends else None},
                f"{payer.name}{f' {plan}' if plan else ''} in {target}: "
                f"{IntakeDecision(decision).label.lower()}{f' (admissions {span})' if span else ''}")
    if kind == ScenarioKind.DENIAL_RATE_CHANGE:
        payer = Payer.objects.filter(pk=_int(p.get("payer_id"), "payer_id")).first()
        if payer is None:
            raise ValidationError({"payer_id": "No such payer."})
        delta = _decimal(p.get("delta_points"), "delta_points", lo=Decimal(-100), hi=Decimal(100))
        if delta is None or delta == 0:
            raise ValidationError({"delta_points": "Enter the change in percentage points (e.g. -3)."})
        rework = _decimal(p.get("rework_cost_per_denial"), "rework_cost_per_denial", lo=Decimal(0),
                          hi=Decimal(100000))
        return ({"payer_id": payer.pk, "delta_points": str(delta),
                 "rework_cost_per_denial": None if rework is None else str(rework)},
                f"{payer.name}: initial denial rate {'+' if delta > 0 else '−'}{abs(delta)} points")
    raise ValidationError({"kind": "Choose exit a contract, tighten an intake rule, or change a denial rate."})


def _change(scenario: Scenario) -> engine.Change:
    p = scenario.parameters
    common = {"kind": scenario.kind, "effective_month": scenario.effective_month}
    if scenario.kind == ScenarioKind.EXIT_CONTRACT:
        return engine.Change(contract_id=p["contract_id"], recapture_pct=float(p.get("recapture_pct") or 0), **common)
    if scenario.kind == ScenarioKind.TIGHTEN_INTAKE_RULE:
        return engine.Change(payer_id=p["payer_id"], plan_name=p.get("plan_name", ""), program_id=p.get("program_id"),
                             level_of_care=p.get("level_of_care", ""), decision=p["decision"],
                             rule_from=_date(p.get("effective_from"), "effective_from"),
                             rule_to=_date(p.get("effective_to"), "effective_to"), **common)
    rework = p.get("rework_cost_per_denial")
    return engine.Change(payer_id=p["payer_id"], delta_points=float(p["delta_points"]),
                         rework_cost_per_denial=None if rework in (None, "") else float(rework), **common)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


COMPUTE_JOB = "scenario_compute"
COMPUTE_STEPS = 5  # reads (claims, stays, totals), the engine, saving: the progress bar's steps


class ScenarioRefused(Exception):
    """The data does not fit the change (the message is stored on the scenario and shown on its page)."""


def compute(scenario: Scenario, *, progress: Callable[[int, str], None] | None = None) -> tuple[dict[str, Any], str]:
    """(result as stored, inputs digest). Raises ValidationError when the change does not fit the data.
    ``progress(step, message)`` is told before each of the first ``COMPUTE_STEPS - 1`` steps."""
    report = progress or (lambda step, message: None)
    window = selectors.window_months(scenario.window_end, scenario.window_months)
    inp, notes = selectors.scenario_inputs(window=window, horizon=scenario.horizon_months, progress=report)
    if inp.claims.empty:
        raise ValidationError({"window_end": "No claims in this window: choose a window with billing data."})
    report(3, f"Computing the base case and the scenario over {len(inp.claims):,} claims")
    try:
        result = engine.evaluate(inp, _change(scenario))
    except engine.ScenarioError as exc:
        raise ValidationError({exc.field: str(exc)}) from None
    result["notes"] = notes
    if scenario.kind == ScenarioKind.DENIAL_RATE_CHANGE:
        result["denial_kpi"] = selectors.initial_denial_kpi(window, scenario.parameters["payer_id"])
    return _jsonable(result), selectors.inputs_digest(inp, scenario.parameters)


def default_window_end(*, today: dt.date | None = None) -> dt.date:
    return selectors.last_complete_month(today=today) or engine.add_months((today or dt.date.today()).replace(day=1),
                                                                            -1)


def _compute_start(*, scenario: Scenario, user: Any = None, first: bool) -> Job:
    """A job computing ``scenario``, sent to Celery once the current transaction commits."""
    from .tasks import scenario_compute_task

    verb = "Compute" if first else "Recompute"
    job = job_create(kind=COMPUTE_JOB, label=f"{verb} scenario “{scenario.name}”"[:200], total=COMPUTE_STEPS,
                     created_by=user, params={"scenario_id": scenario.pk})
    Scenario.objects.filter(pk=scenario.pk).update(job=job)
    scenario.job = job
    return job_enqueue(job=job, task=scenario_compute_task, scenario_id=scenario.pk)


@transaction.atomic
def scenario_create(*, name: str, kind: str, parameters: dict[str, Any], user: Any = None,
                    window_end: dt.date | None = None, window_months: int = 12, horizon_months: int = 12,
                    effective_month: dt.date | None = None, shared: bool = False,
                    description: str = "", compute_now: bool = False) -> Scenario:
    """Validate and save a scenario, and queue its computation as a job (``scenario.job``; the page shows its
    progress). Window: ``window_months`` full months ending with ``window_end``'s month (default the last complete
    month with claims); the change takes effect in ``effective_month`` (default the first month after the
    window), which must fall in the horizon. ``compute_now`` computes in this call instead (no job; a change the
    data refuses raises ValidationError and nothing is saved): the demo seeding and the benchmark use it."""
    if not name.strip():
        raise ValidationError({"name": "Give the scenario a name."})
    if not 1 <= window_months <= MAX_WINDOW:
        raise ValidationError({"window_months": f"From 1 to {MAX_WINDOW} months."})
    if not 1 <= horizon_months <= MAX_HORIZON:
        raise ValidationError({"horizon_months": f"From 1 to {MAX_HORIZON} months."})
    params, summary = clean_parameters(kind=kind, parameters=parameters)
    end = (window_end or default_window_end()).replace(day=1)
    effective = (effective_month or engine.add_months(end, 1)).replace(day=1)
    if not engine.add_months(end, 1) <= effective <= engine.add_months(end, horizon_months):
        raise ValidationError({"effective_month": "The change must take effect in a month of the horizon (after the "
                                                  "window)."})
    scenario = Scenario(name=name.strip(), kind=kind, parameters=params, window_end=end, window_months=window_months,
                        horizon_months=horizon_months, effective_month=effective, shared=shared,
                        description=description.strip() or summary,
                        created_by=user if getattr(user, "pk", None) else None)
    if compute_now:
        scenario.result, scenario.inputs_digest = compute(scenario)
        scenario.computed_at = timezone.now()
        scenario.save()
        return scenario
    scenario.save()
    _compute_start(scenario=scenario, user=user, first=True)
    return scenario


def _check_still_computable(scenario: Scenario) -> None:
    if scenario.kind == ScenarioKind.EXIT_CONTRACT and not Contract.objects.filter(
            pk=scenario.parameters.get("contract_id")).exists():
        raise ValidationError("The contract of this scenario no longer exists; the saved result stays as it was.")


@transaction.atomic
def scenario_recompute_start(*, scenario: Scenario, user: Any = None) -> Job:
    """Queue a recompute from today's data; while one is queued or running, that job (no second one)."""
    scenario = Scenario.objects.select_for_update(of=("self",)).select_related("job").get(pk=scenario.pk)
    if scenario.job is not None and not scenario.job.is_finished:
        return scenario.job
    _check_still_computable(scenario)
    return _compute_start(scenario=scenario, user=user, first=False)


def scenario_recompute(*, scenario: Scenario,
                       progress: Callable[[int, str], None] | None = None) -> tuple[Scenario, bool]:
    """Recompute from today's data in this call; returns the scenario and whether its inputs changed since last
    time. The body of the compute job. The reads run without holding the scenario; the result is written under
    its row lock (a scenario deleted meanwhile raises Scenario.DoesNotExist)."""
    _check_still_computable(scenario)
    result, digest = compute(scenario, progress=progress)
    with transaction.atomic():
        scenario = Scenario.objects.select_for_update().get(pk=scenario.pk)
        before = scenario.inputs_digest
        scenario.result, scenario.inputs_digest = result, digest
        scenario.computed_at = timezone.now()
        scenario.error = ""
        scenario.save(update_fields=["result", "inputs_digest", "computed_at", "error"])
    return scenario, before != digest


def scenario_compute_job(job: Job, scenario_id: int) -> dict[str, Any]:
    """Body of ``scenarios.tasks.scenario_compute_task``: compute the scenario with progress and store the result.
    A change the data refuses is stored on the scenario (``error``; the previous result stays) and fails the job.
    A scenario deleted meanwhile is nothing to do."""
    def progress(step: int, message: str) -> None:
        job_progress(job_id=job.pk, done=step, total=COMPUTE_STEPS, message=message)

    scenario = Scenario.objects.filter(pk=scenario_id).first()
    if scenario is None:
        return {"scenario_id": scenario_id, "deleted": True}
    first = scenario.computed_at is None
    try:
        scenario, changed = scenario_recompute(scenario=scenario, progress=progress)
    except ValidationError as exc:
        message = " ".join(exc.messages)
        Scenario.objects.filter(pk=scenario_id).update(error=message)
        raise ScenarioRefused(message) from None
    except Scenario.DoesNotExist:  # deleted while computing
        return {"scenario_id": scenario_id, "deleted": True}
    job_progress(job_id=job.pk, done=COMPUTE_STEPS - 1, total=COMPUTE_STEPS, message="Saved")
    return {"scenario_id": scenario_id, "first": first, "changed": None if first else changed,
            "computed_at": scenario.computed_at.isoformat()}


@transaction.atomic
def scenario_share(*, scenario: Scenario, shared: bool) -> Scenario:
    scenario.shared = shared
    scenario.save(update_fields=["shared"])
    return scenario


@transaction.atomic
def scenario_delete(*, scenario: Scenario) -> None:
    scenario.delete()

"""A directory plan as the import command prints it: each change a line, the leavers with
the access they hold."""

from collections.abc import Iterator

from people.directory import DirectoryPlan

from .selectors import grant_line, people_access


def _value(value) -> str:
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "none"
    return "none" if value in (None, "") else str(value)


def plan_lines(plan: DirectoryPlan) -> Iterator[str]:
    yield f"Joiners ({len(plan.joiners)}):"
    for row in plan.joiners:
        yield f"  {row.email}: {row.name}, {row.business_unit} in {row.directorate} ({row.role})"
    yield f"Updates ({len(plan.updates)}):"
    for update in plan.updates:
        changes = "; ".join(
            f"{name} {_value(old)} → {_value(new)}" for name, (old, new) in update.changes.items()
        )
        yield f"  {update.email}: {changes}"
    yield f"Movers ({len(plan.movers)}):"
    for move in plan.movers:
        yield (
            f"  {move.email}: {move.from_unit} in {move.from_directorate[1]} → "
            f"{move.to_unit} in {move.to_directorate[1]}"
        )
    yield f"Role changes ({len(plan.role_changes)}):"
    for change in plan.role_changes:
        yield f"  {change.email}: {_value(change.old)} → {change.new}"
    yield f"Director changes ({len(plan.director_changes)}):"
    for change in plan.director_changes:
        yield (
            f"  {change.directorate[1]} ({change.directorate[0]}): "
            f"{_value(change.old_email)} → {_value(change.new_email)}"
        )
    yield f"Leavers ({len(plan.leavers)}):"
    access = people_access(user_ids=[leaver.user_id for leaver in plan.leavers])
    for leaver in plan.leavers:
        held = access.get(leaver.user_id)
        grants = [grant_line(grant) for grant in held.grants] if held else []
        cases = [case.reference for case in held.open_cases] if held else []
        approvals = [a.business_case.reference for a in held.approvals_held] if held else []
        yield f"  {leaver.email} ({leaver.name})"
        yield f"    active grants: {'; '.join(grants) or 'none'}"
        yield f"    open cases: {', '.join(cases) or 'none'}"
        yield f"    approval requests held: {', '.join(approvals) or 'none'}"
    yield f"Unchanged: {plan.unchanged}"

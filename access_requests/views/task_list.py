"""The draft's page: the GOV.UK task list of its question pages.

Each task is one question page of the journey (`journey_steps`, in the journey's order) with
its status: "Completed", "Incomplete", or "Cannot start yet" (no link) while it waits on
another answer. "Check your answers and send" cannot start until every other task is done.
"""

from dataclasses import dataclass

from django.urls import reverse

COMPLETED = "Completed"
INCOMPLETE = "Incomplete"
CANNOT_START_YET = "Cannot start yet"


@dataclass(frozen=True)
class Task:
    title: str
    status: str
    url: str | None = None  # None while the task cannot start
    hint: str = ""

    @property
    def cannot_start(self) -> bool:
        return self.status == CANNOT_START_YET


def _task(step) -> Task:
    return Task(step.title, COMPLETED if step.complete else INCOMPLETE, step.url)


def draft_tasks(case, steps) -> list[Task]:
    """The answer tasks of a draft, from its journey steps. The dates wait for the kind of
    access (its longest period depends on it), and the identities for the sites."""
    tasks = []
    for step in steps:
        if step.key == "dates" and not case.tier:
            tasks.append(
                Task(step.title, CANNOT_START_YET, hint="Choose what kind of access you need first")
            )
        else:
            tasks.append(_task(step))
        if step.key == "dates" and not any(s.key == "identity" for s in steps):
            tasks.append(
                Task(
                    "Your identity on each site",
                    CANNOT_START_YET,
                    hint="Choose which sites you need first",
                )
            )
    return tasks


def draft_task_list(case, steps) -> dict:
    """The template context of the draft's task list page."""
    tasks = draft_tasks(case, steps)
    completed = sum(task.status == COMPLETED for task in tasks)
    ready = completed == len(tasks)
    send = Task(
        "Check your answers and send your request",
        INCOMPLETE if ready else CANNOT_START_YET,
        reverse("access_requests:case-check", kwargs={"pk": case.pk}) if ready else None,
        "" if ready else "Complete every other section first",
    )
    return {
        "tasks": tasks,
        "send_tasks": [send],
        "completed_count": completed,
        "task_count": len(tasks),
    }

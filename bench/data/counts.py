"""How many of each thing a scale gives."""

from dataclasses import dataclass


@dataclass(frozen=True)
class BenchCounts:
    """How many of each thing a scale gives (the tests check the loader against this)."""

    staff: int
    organisations: int
    directorates: int
    business_units: int
    grants: int
    submitted: int
    rejected: int
    withdrawn: int
    lapsed: int
    drafts: int
    audit_events: int
    emails: int

    @property
    def cases(self) -> int:
        return (
            self.grants
            + self.submitted
            + self.rejected
            + self.withdrawn
            + self.lapsed
            + self.drafts
        )


def bench_counts(scale: float) -> BenchCounts:
    def scaled(base: int, minimum: int) -> int:
        return max(minimum, round(base * scale))

    staff = scaled(50_000, 50)
    # A directorate is at most 1,250 people, as in the department (scale 1: 40 of them); a
    # bigger scale is a shared service of more departments, with more directorates.
    directorates = min(max(40, -(-staff // 1_250)), max(3, staff // 25))
    return BenchCounts(
        staff=staff,
        organisations=3,
        directorates=directorates,
        business_units=directorates * 5,
        grants=scaled(200_000, 20),
        submitted=scaled(6_000, 2),
        rejected=scaled(8_000, 2),
        withdrawn=scaled(4_000, 1),
        lapsed=scaled(3_000, 1),
        drafts=scaled(3_000, 1),
        audit_events=scaled(2_000_000, 500),
        emails=scaled(20_000, 10),
    )

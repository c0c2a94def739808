"""The demo county's 337 grids (seed 003): laid over its 65 communities and villages, each village's
box tiled by its cells, a grid worker where the village has an assistant, built set-based and once;
an event reported anywhere in a cell finds that cell."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest

from minzheng.demo.feedback import (
    GRID_CELLS,
    VILLAGE_HEIGHT,
    VILLAGE_WIDTH,
    allocate,
    build_demo_grid,
    tile,
)
from minzheng.feedback.grid import cell_at
from minzheng.feedback.models import GridCell
from minzheng.org.models import Division
from minzheng.org.roles import Role
from minzheng.org.services import divisions_load
from minzheng.org.testing import make_staff


def test_allocation_gives_every_village_a_grid_and_adds_up() -> None:
    counts = allocate(337, [5] * 53 + [3] * 12)
    assert sum(counts) == 337
    assert min(counts) >= 1
    assert counts == allocate(337, [5] * 53 + [3] * 12)  # deterministic
    assert counts[0] > counts[-1]  # a community holds more grids than a village
    with pytest.raises(ValueError, match="fewer grids"):
        allocate(2, [1, 1, 1])


@pytest.mark.parametrize("n", [1, 2, 5, 6, 7, 11])
def test_tiles_cover_the_box_exactly_without_overlap(n: int) -> None:
    south, west = Decimal("39.01"), Decimal("106.37")
    boxes = tile(south, west, VILLAGE_HEIGHT, VILLAGE_WIDTH, n)
    assert len(boxes) == n
    area = sum((b[1] - b[0]) * (b[3] - b[2]) for b in boxes)
    assert abs(area - VILLAGE_HEIGHT * VILLAGE_WIDTH) < Decimal("1e-9")
    for i, a in enumerate(boxes):
        assert a[0] < a[1]
        assert a[2] < a[3]
        for b in boxes[i + 1 :]:
            overlap_lat = min(a[1], b[1]) - max(a[0], b[0])
            overlap_lng = min(a[3], b[3]) - max(a[2], b[2])
            assert overlap_lat <= 0 or overlap_lng <= 0, (a, b)


@pytest.mark.django_db
def test_the_demo_county_holds_337_grids_over_its_villages(tree: dict[str, Division]) -> None:
    divisions_load(actor=None, prefix="640202")
    assistant = make_staff("grid_assistant", "640202001001", [Role.VILLAGE_ASSISTANT])
    villages = set(Division.objects.filter(code__startswith="640202", level=5).values_list("code", flat=True))

    assert build_demo_grid() == GRID_CELLS
    cells = list(GridCell.objects.filter(village__code__startswith="640202"))
    assert len(cells) == GRID_CELLS == 337
    by_village: dict[str, list[GridCell]] = defaultdict(list)
    for cell in cells:
        by_village[cell.village_id].append(cell)
    assert set(by_village) == villages
    first = sorted(by_village["640202001001"], key=lambda c: c.code)
    assert first[2].name.endswith("社区第3网格")
    assert first[2].code == "64020200100103"
    assert {c.worker_id for c in first} == {assistant.pk}
    assert {c.worker_id for c in by_village["640202100206"]} == {None}
    # Each village's cells tile its box exactly.
    for village_cells in by_village.values():
        area = sum((c.max_lat - c.min_lat) * (c.max_lng - c.min_lng) for c in village_cells)
        assert abs(area - VILLAGE_HEIGHT * VILLAGE_WIDTH) < Decimal("1e-9")
    # A point inside each cell finds that cell.
    for cell in cells:
        lat = (cell.min_lat + cell.max_lat) / 2
        lng = (cell.min_lng + cell.max_lng) / 2
        found = cell_at(lat.quantize(Decimal("0.000001")), lng.quantize(Decimal("0.000001")))
        assert found is not None
        assert found.code == cell.code
    # The demo event's place is in the demo community.
    demo_spot = cell_at(Decimal("39.015"), Decimal("106.375"))
    assert demo_spot is not None
    assert demo_spot.village_id == "640202001001"
    # Outside the plan: no cell.
    assert cell_at(Decimal("38.5"), Decimal("106.375")) is None

    # Once: a second run creates nothing and changes nothing.
    assert build_demo_grid() == 0
    assert GridCell.objects.count() == 337
    # A cell moved by hand is brought back to the plan.
    GridCell.objects.filter(code=first[0].code).update(name="改名", max_lat=first[0].max_lat + 1)
    assert build_demo_grid() == 0
    again = GridCell.objects.get(code=first[0].code)
    assert (again.name, again.max_lat) == (first[0].name, first[0].max_lat)

"""The virtual operators of one station share the central's «no work» answers."""

from __future__ import annotations

from prep.simulacro.proceso import NoWork


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_empty_answer_holds_back_every_operator_of_that_kind_only() -> None:
    clock = Clock()
    no_work = NoWork(0.5, {"captura": 5.0, "verificacion": 10.0}, clock)
    assert no_work.left("captura") <= 0  # nobody has asked: ask
    no_work.heard("captura", work=False)
    assert no_work.left("captura") == 0.5  # the other capturista waits too
    assert no_work.left("verificacion") <= 0  # the verificador's work is another queue
    clock.now += 0.5
    assert no_work.left("captura") <= 0


def test_waits_double_up_to_the_longest_and_work_ends_them() -> None:
    clock = Clock()
    no_work = NoWork(0.5, {"captura": 5.0}, clock)
    waits = []
    for _ in range(6):
        no_work.heard("captura", work=False)
        waits.append(no_work.left("captura"))
        clock.now += waits[-1]
    assert waits == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    no_work.heard("captura", work=True)
    assert no_work.left("captura") <= 0
    no_work.heard("captura", work=False)
    assert no_work.left("captura") == 0.5  # a new idle spell starts short again

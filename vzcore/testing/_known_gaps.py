"""Strict xfails for the gaps a plugin documents: the base of the shared test suites."""

from __future__ import annotations

from typing import ClassVar

import pytest

__all__ = ["KnownGaps"]


class KnownGaps:
    """Mark the tests named in :attr:`xfail_cases` as strict xfails."""

    xfail_cases: ClassVar[dict[str, str]] = {}
    """``{test name or "name[param]": reason}``: known gaps, strict xfails."""

    @pytest.fixture(autouse=True)
    def _known_gaps(self, request: pytest.FixtureRequest) -> None:
        node = request.node
        reason = self.xfail_cases.get(node.name) or self.xfail_cases.get(
            getattr(node, "originalname", node.name)
        )
        if reason:
            node.add_marker(pytest.mark.xfail(reason=reason, strict=True))

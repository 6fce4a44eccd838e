"""Schema validation with IfcOpenShell's own findings, at a fraction of its time.

The compiled checks of :mod:`bim.schema_screen` clear the instances that certainly pass;
``ifcopenshell.validate.validate`` then runs as it is (header, applications, and every rule
of its instance loop) over a view of the model that iterates only the rest: the instances a
check did not clear, and every instance whose GlobalId another instance shares (so that the
uniqueness rule sees them all, in the model's order). Its statements are therefore the ones
it makes on the whole model, in the same order; the tests compare the two on real files and
on broken ones.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from typing import Any, Final

import ifcopenshell
import ifcopenshell.ifcopenshell_wrapper as wrapper

from bim.schema_screen import (
    GLOBAL_ID,
    EntityChecks,
    TypeChecks,
    compile_entity,
    inverse_count_fits,
)

log = logging.getLogger(__name__)

DERIVED_FEATURE: Final = "use_attribute_value_derived"


def validate(model: ifcopenshell.file, logger: Any) -> int:
    """Run ``ifcopenshell.validate.validate(model, logger)`` on the instances that need it.

    Returns how many instances the reference checked.
    """
    import ifcopenshell.validate

    ids = suspect_ids(model)
    view = _view_of(model, ids)
    ifcopenshell.validate.validate(view if view is not None else model, logger)
    return len(ids) if view is not None else len(model.entity_names())


def suspect_ids(model: ifcopenshell.file) -> list[int]:
    """The ids of the instances the compiled checks do not clear, in the model's order."""
    before = wrapper.get_feature(DERIVED_FEATURE)
    wrapper.set_feature(DERIVED_FEATURE, True)  # as the reference reads: '*' apart from '$'
    try:
        suspects = _screen(model)
    finally:
        wrapper.set_feature(DERIVED_FEATURE, before)
    return [i for i in model.entity_names() if i in suspects]


def _screen(model: ifcopenshell.file) -> set[int]:
    checks = TypeChecks(wrapper.schema_by_name(model.schema_identifier))
    suspects: set[int] = set()
    first_with_id: dict[str, int] = {}
    for name in model.types():
        plan = compile_entity(checks, name)
        for instance in model.by_type(name, include_subtypes=False):
            identity = instance.id()
            if not _clears(instance, plan):
                suspects.add(identity)
            if plan.global_id_index is None:
                continue
            try:
                global_id = instance.get_argument(plan.global_id_index)
            except Exception:
                suspects.add(identity)
                continue
            if global_id is None:
                continue
            if type(global_id) is not str or not GLOBAL_ID.fullmatch(global_id):
                suspects.add(identity)
            elif (first := first_with_id.setdefault(global_id, identity)) != identity:
                suspects.update((first, identity))
    return suspects


def _clears(instance: ifcopenshell.entity_instance, plan: EntityChecks) -> bool:
    """Whether ``instance`` certainly passes the reference's attribute and inverse checks."""
    if plan.abstract or len(instance) != plan.count:
        return False
    read = instance.get_argument
    derived_value = wrapper.attribute_value_derived
    try:
        for check in plan.attributes:
            value = read(check.index)
            if check.derived:
                if not isinstance(value, derived_value):
                    return False
            elif value is None:
                if not check.optional:
                    return False
            elif not check.accepts(value):
                return False
        for name, lower, upper in plan.bounded_inverses:
            if not inverse_count_fits(len(instance._get_inverse(name)), lower, upper):
                return False
    except Exception:  # the reference reports what cannot be read
        return False
    return True


class _ModelView(ifcopenshell.file):
    """The same model, iterating only some of its instances (for the reference's loop)."""

    _subset: list[int]

    def __iter__(self) -> Generator[ifcopenshell.entity_instance]:
        return (self.by_id(i) for i in self._subset)


def _view_of(model: ifcopenshell.file, ids: list[int]) -> ifcopenshell.file | None:
    """A view of ``model`` iterating ``ids``; None if this IfcOpenShell cannot make one."""
    try:
        view = _ModelView.__new__(_ModelView)
        view.__dict__.update(vars(model))
        view.__dict__["_subset"] = ids
        view.schema_identifier  # noqa: B018  (the view must read the model's header)
    except Exception as exc:  # another IfcOpenShell build: the reference checks everything
        log.warning("validating every instance: cannot view a model's subset (%s)", exc)
        return None
    return view

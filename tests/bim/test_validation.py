"""Schema validation through the compiled screen gives ``ifcopenshell.validate``'s findings."""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import ifcopenshell
import ifcopenshell.validate
import pytest

from bim.check import validate_model
from bim.validation import suspect_ids, validate
from tests.conftest import FZK, MAP_GK, MAP_IFC4, OPEN_HOUSE, REVIT, TEKLA

HEADER = """ISO-10303-21;
HEADER;
FILE_DESCRIPTION(('ViewDefinition [CoordinationView]'),'2;1');
FILE_NAME('t.ifc','2024-01-01T00:00:00',('a'),('b'),'p','s','');
FILE_SCHEMA(('IFC4'));
ENDSEC;
DATA;
#1=IFCPROJECT('0YvctVUKr0kugbFTf53O9L',$,'P',$,$,$,$,(#6),#7);
#2=IFCCARTESIANPOINT((0.,0.,0.));
#3=IFCAXIS2PLACEMENT3D(#2,$,$);
#6=IFCGEOMETRICREPRESENTATIONCONTEXT($,'Model',3,1.E-05,#3,$);
#7=IFCUNITASSIGNMENT((#8));
#8=IFCSIUNIT(*,.LENGTHUNIT.,$,.METRE.);
#10=IFCLOCALPLACEMENT($,#3);
#11=IFCWALL('1YvctVUKr0kugbFTf53O9L',$,'W',$,$,#10,$,$,.STANDARD.);
#12=IFCPROPERTYSINGLEVALUE('A',$,IFCLABEL('x'),$);
#13=IFCPROPERTYSET('2YvctVUKr0kugbFTf53O9L',$,'Pset',$,(#12));
#14=IFCRELDEFINESBYPROPERTIES('3YvctVUKr0kugbFTf53O9L',$,$,$,(#11),#13);
"""
FOOTER = "ENDSEC;\nEND-ISO-10303-21;\n"

# One broken instance (#20, #21) per rule of the reference's instance loop.
BROKEN = {
    "repeated GlobalId": "#20=IFCWALL('1YvctVUKr0kugbFTf53O9L',$,'W2',$,$,$,$,$,$);",
    "GlobalId not base 64": "#20=IFCWALL('zz',$,'W2',$,$,$,$,$,$);",
    "required attribute missing": "#20=IFCWALL($,$,'W2',$,$,$,$,$,$);",
    "entity of the wrong type": "#20=IFCWALL('3ZvctVUKr0kugbFTf53O9L',$,'W2',$,$,#2,$,$,$);",
    "select with a bad typed value": "#20=IFCPROPERTYSINGLEVALUE('B',$,IFCBOOLEAN('x'),$);",
    "select with a non-member": "#20=IFCPROPERTYSINGLEVALUE('B',$,#2,$);",
    "list under its lower bound": "#20=IFCPOLYLINE((#2));",
    "abstract entity": "#20=IFCROOT('3ZvctVUKr0kugbFTf53O9L',$,$,$);",
    "reference to a missing instance": (
        "#20=IFCRELDEFINESBYPROPERTIES('5YvctVUKr0kugbFTf53O9L',$,$,$,(#11,#997),#13);"
    ),
    "number for a string": "#20=IFCWALL('3ZvctVUKr0kugbFTf53O9L',$,12,$,$,$,$,$,$);",
    "inverse over its upper bound": (
        "#20=IFCPROPERTYSET('4YvctVUKr0kugbFTf53O9L',$,'Pset2',$,(#12));\n"
        "#21=IFCRELDEFINESBYPROPERTIES('5YvctVUKr0kugbFTf53O9L',$,$,$,(#11),#20);"
    ),
}


def _statements(model: ifcopenshell.file, fast: bool) -> list[tuple[Any, ...]]:
    """The reference's statements; where it stops with an error, that error last."""
    logger = ifcopenshell.validate.json_logger()
    try:
        if fast:
            validate(model, logger)
        else:
            ifcopenshell.validate.validate(model, logger)
    except Exception as exc:  # e.g. its GlobalId rule takes len() of a number
        logger.statements.append({"level": "crash", "message": repr(exc)})
    return [
        (s["level"], s.get("attribute"), s["message"], str(s.get("instance")))
        for s in logger.statements
    ]


@pytest.mark.parametrize("name", [REVIT, FZK, OPEN_HOUSE, MAP_IFC4, MAP_GK, TEKLA])
def test_real_files_get_the_reference_findings(ifc_dir: Path, name: str) -> None:
    model = ifcopenshell.open(str(ifc_dir / name))
    reference = _statements(model, fast=False)
    assert _statements(model, fast=True) == reference
    # the reference looked at only a few instances: the screen cleared the rest
    assert len(suspect_ids(model)) <= max(2 * len(reference), 10)


def test_the_real_findings_are_not_empty(ifc_dir: Path) -> None:
    """The files above break rules of three kinds, so the comparison has something to match."""
    attributes = {
        name: {s[1] for s in _statements(ifcopenshell.open(str(ifc_dir / name)), fast=True)}
        for name in (REVIT, FZK, TEKLA)
    }
    assert "IfcSpace.CompositionType" in attributes[REVIT]  # a required attribute missing
    assert "HasPropertySets" in attributes[REVIT]  # an empty SET [1:?]
    assert "IfcRelSpaceBoundary.RelatedBuildingElement" in attributes[FZK]
    assert "IfcLocalPlacement.PlacesObject" in attributes[TEKLA]  # an inverse SET [1:1] empty


def test_a_clean_model_needs_no_reference_check() -> None:
    model = ifcopenshell.file.from_string(HEADER + FOOTER)
    assert suspect_ids(model) == [] and _statements(model, fast=True) == []


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_each_broken_rule_is_found_as_the_reference_finds_it(case: str) -> None:
    model = ifcopenshell.file.from_string(HEADER + BROKEN[case] + "\n" + FOOTER)
    reference = _statements(model, fast=False)
    assert reference, "the reference must find the break"
    assert _statements(model, fast=True) == reference
    assert {20, 21} & set(suspect_ids(model))


def test_validate_model_reports_through_the_screen(ifc_dir: Path) -> None:
    summary = validate_model(ifcopenshell.open(str(ifc_dir / REVIT)))
    assert summary["errors"] == 4 and summary["warnings"] == 0
    assert {i["attribute"] for i in summary["issues"]} >= {"IfcSpace.CompositionType"}


_ARGUMENT = re.compile(r"'(?:[^']|'')*'|\([^()]*\)|[^,()]+")
_WRONG_VALUES = ("$", "*", "7", "2.5", "'text'", ".T.", ".NOTANITEM.", "()", "(#{ref})", "#{ref}")


def _mutate(text: str, seed: int, count: int) -> str:
    """``count`` instances of ``text`` with one flat argument replaced by a wrong-kind value."""
    rng = random.Random(seed)
    lines = text.splitlines()
    rows = [i for i, line in enumerate(lines) if re.match(r"#\d+=\w+\(", line)]
    ids = [int(lines[i][1 : lines[i].index("=")]) for i in rows]
    for row in rng.sample(rows, count):
        line = lines[row]
        head, body = line[: line.index("(") + 1], line[line.index("(") + 1 : line.rindex(")")]
        arguments = [m.group(0) for m in _ARGUMENT.finditer(body)]
        if "".join(arguments) != body.replace(",", ""):
            continue  # nested lists: left as they are
        position = rng.randrange(len(arguments))
        arguments[position] = rng.choice(_WRONG_VALUES).format(ref=rng.choice(ids))
        lines[row] = head + ",".join(arguments) + line[line.rindex(")") :]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("seed", range(4))
def test_random_breaks_of_a_real_file_match_the_reference(ifc_dir: Path, seed: int) -> None:
    """Arguments of a real file replaced at random by values of every wrong kind."""
    text = (ifc_dir / OPEN_HOUSE).read_text(errors="replace")
    model = ifcopenshell.file.from_string(_mutate(text, seed, 150))
    reference = _statements(model, fast=False)
    assert len(reference) > 20
    assert _statements(model, fast=True) == reference


def test_without_a_view_of_the_model_the_reference_checks_everything(
    ifc_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An IfcOpenShell whose file objects cannot be viewed: every instance is validated."""
    import bim.validation

    def refuse(*_: object) -> None:
        raise TypeError("no view here")

    monkeypatch.setattr(bim.validation._ModelView, "__new__", refuse)
    model = ifcopenshell.open(str(ifc_dir / REVIT))
    logger = ifcopenshell.validate.json_logger()
    assert validate(model, logger) == len(model.entity_names())
    assert len(logger.statements) == 4

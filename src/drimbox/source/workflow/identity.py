"""Coherence of the report's INS traits with the INS matricule itself (exam M of the ANS set).

The Source cannot call the INSi teleservice, but an INS-NIR is not opaque: its first digit is the
sex (1 man, 2 woman), digits 2-3 the last two digits of the birth year and digits 4-5 the birth
month (01-12; other values mean "unknown" or a special registration). A report whose declared
sex or birth year/month contradicts its own matricule names someone else than the INS owner:
publishing it would attach images to the wrong patient's DMP, so the message is rejected with
the details for the administrator (DB.SO.47). NIA (temporary numbers) are not checked.
"""

from __future__ import annotations

from typing import Final

from drimbox.cda import Identifier, InsIdentity
from drimbox.source.workflow.errors import IDENTITY_MISMATCH, Reject

_NIR_OIDS: Final = frozenset({"1.2.250.1.213.1.4.8", "1.2.250.1.213.1.4.10"})
_SEX_DIGIT: Final = {"1": "M", "2": "F"}


def ins_mismatches(ins: Identifier, traits: InsIdentity) -> list[str]:
    """What the declared traits say that the INS-NIR contradicts (empty when coherent)."""
    nir = ins.extension or ""
    if ins.root not in _NIR_OIDS or len(nir) != 15 or not nir[:5].isdigit():
        return []
    problems: list[str] = []
    expected_sex = _SEX_DIGIT.get(nir[0])
    sex = (traits.sex or "").upper()
    if expected_sex and sex in ("M", "F") and sex != expected_sex:
        problems.append(f"sex {sex} (the INS is a {'man' if expected_sex == 'M' else 'woman'}'s)")
    birth = traits.birth_date or ""
    if len(birth) >= 6 and birth[:6].isdigit():
        if birth[2:4] != nir[1:3]:
            problems.append(f"birth year {birth[:4]} (the INS says ..{nir[1:3]})")
        if "01" <= nir[3:5] <= "12" and birth[4:6] != nir[3:5]:
            problems.append(f"birth month {birth[4:6]} (the INS says {nir[3:5]})")
    return problems


def check_ins_identity(ins: Identifier, traits: InsIdentity) -> None:
    """Raise :class:`Reject` when the traits contradict the INS-NIR."""
    problems = ins_mismatches(ins, traits)
    if problems:
        raise Reject(
            IDENTITY_MISMATCH,
            f"the report's identity {traits.birth_name} {traits.first_given_name} does not match "
            f"the owner of INS {ins.extension}: " + ", ".join(problems) + "; KOS not published",
        )

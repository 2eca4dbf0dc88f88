"""What the RAD-107 client simulator sends: URL, headers and the ANS Accept lines.

The default Accept line is byte for byte the one of the ANS WADO-RS validator sample
(Echantillons_validateurs/Validateur_WADO-RS/Requete_WADO-RS_-_Serie): lossless first, a
``boundary=**`` parameter and a trailing comma, as the DRIM-M Consommatrices send it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drimbox.dicom.kos.retrieve_url import normalise_base_url

_PART = 'multipart/related; type="application/dicom";transfer-syntax={uid};q={q};boundary=**'


def accept_line(preferences: list[tuple[str, str]]) -> str:
    """The ANS style: one comma list, each element ending with ``boundary=**``, trailing comma."""
    return "".join(_PART.format(uid=uid, q=q) + "," for uid, q in preferences)


ANS_ACCEPT = accept_line(
    [
        ("1.2.840.10008.1.2.4.70", "0.9"),
        ("1.2.840.10008.1.2.4.80", "0.8"),
        ("1.2.840.10008.1.2.4.91", "0.6"),
        ("1.2.840.10008.1.2.4.50", "0.5"),
        ("1.2.840.10008.1.2.4.51", "0.5"),
        ("1.2.840.10008.1.2.4.100", "0.5"),
        ("1.2.840.10008.1.2.4.101", "0.5"),
        ("1.2.840.10008.1.2.4.102", "0.5"),
        ("1.2.840.10008.1.2.4.103", "0.5"),
        ("1.2.840.10008.1.2.1", "0.4"),
    ]
)
"""Lossless preferred: the ANS validator's series request sample."""

LOSSY_FIRST_ACCEPT = accept_line(
    [
        ("1.2.840.10008.1.2.4.50", "0.9"),
        ("1.2.840.10008.1.2.4.51", "0.8"),
        ("1.2.840.10008.1.2.4.91", "0.8"),
        ("1.2.840.10008.1.2.4.70", "0.7"),
        ("1.2.840.10008.1.2.4.80", "0.6"),
        ("1.2.840.10008.1.2.1", "0.5"),
    ]
)
"""Lossy first, like the reference Consommatrice's list."""

USER_AGENT = "drimbox-kit-wado/1"


@dataclass(frozen=True)
class WadoRequest:
    """One RAD-107 retrieve: study + series (+ instance), bearer token, KOS SOP Instance UID."""

    endpoint: str
    study: str
    series: str
    token: str
    kos: str
    instance: str | None = None
    accept: list[str] = field(default_factory=lambda: [ANS_ACCEPT])

    @property
    def url(self) -> str:
        base = normalise_base_url(self.endpoint)
        url = f"{base}/studies/{self.study}/series/{self.series}"
        return url if self.instance is None else f"{url}/instances/{self.instance}"

    def headers(self) -> list[tuple[str, str]]:
        """Header lines in the ANS sample order; several ``--accept`` give several lines."""
        lines = [("Authorization", f"Bearer {self.token}"), ("KOS-SOPInstanceUID", self.kos)]
        lines += [("Accept", value) for value in self.accept]
        lines.append(("User-Agent", USER_AGENT))
        return lines

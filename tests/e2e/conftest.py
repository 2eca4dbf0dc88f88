"""End-to-end fixtures: the ANS data set generated once, served by the PACS simulator."""

from e2e.source_env import ans_dataset, ans_pacs, pacs, service, settings

__all__ = ["ans_dataset", "ans_pacs", "pacs", "service", "settings"]

"""The Source workflow against the PACS simulator loaded with the ANS data (see e2e.source_env)."""

from e2e.source_env import ans_dataset, ans_pacs, pacs, service, settings

__all__ = ["ans_dataset", "ans_pacs", "pacs", "service", "settings"]

"""Data preparation: clean LabelDesk items before labeling (no Qt, no database).

Stages: encoding repair (:mod:`.encoding`), exact/near/reference duplicates
(:mod:`.duplicates`), private data and secrets (:mod:`.pii`), poisoning and
quality filters and label consistency (:mod:`.filters`), tied together by
:func:`run_pipeline` (:mod:`.pipeline`) with a :class:`CleanReport`.
"""

from .config import RULES, CleanCancelled, CleanConfig, ConfigError, default_config_path
from .duplicates import find_duplicates
from .pii import Finding, PiiDetector
from .pipeline import CleanResult, ItemResult, clean_item, run_pipeline
from .report import CleanReport
from .text import dedup_text
from .textio import DecodedText, TextDecodeWarning, decode_bytes, read_text_file

__all__ = [
    "RULES",
    "CleanCancelled",
    "CleanConfig",
    "CleanReport",
    "CleanResult",
    "ConfigError",
    "DecodedText",
    "Finding",
    "ItemResult",
    "PiiDetector",
    "TextDecodeWarning",
    "clean_item",
    "decode_bytes",
    "dedup_text",
    "default_config_path",
    "find_duplicates",
    "read_text_file",
    "run_pipeline",
]

"""The names every layer shares: record kinds, roles, formats, views.

Kept apart from the modules that implement them, with no imports, so that the command
line can offer them as choices without loading SQLAlchemy, pyarrow or the decoders.
"""

# the newest migration in storage/migrations/versions; a test holds the two equal
SCHEMA_HEAD = "0002"

KINDS = ("instruction", "conversation", "preference", "safety", "evaluation")
ROLES = ("annotator", "reviewer", "lead")
# project templates that are a record kind under another name
TEMPLATE_KINDS = {"multimodal": "conversation", "queries": "instruction"}
TEMPLATE_NAMES = (*KINDS, *TEMPLATE_KINDS)

IMPORT_FORMATS = ("records", "csv", "parquet", "openai", "alpaca", "sharegpt", "preference", "responses", "labelstudio")
TRANSCRIPT_FORMATS = ("eaf", "textgrid", "vtt", "srt")
VIEWS = ("sft", "dpo", "safety", "eval")
PAIRINGS = ("all", "best-vs-rest")
EXPORT_FORMATS = ("records", *VIEWS, "labelstudio", *TRANSCRIPT_FORMATS)

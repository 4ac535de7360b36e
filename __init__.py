"""LabelDesk: build the data LLMs are trained on.

The package is the repository root: ``labeldesk.app`` (workflow services, window, command line),
``labeldesk.storage``, ``labeldesk.media``, ``labeldesk.widgets`` and ``labeldesk.resources``.
"""

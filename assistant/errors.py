"""Errors a user can act on. Each message says what happened and what to do."""

from __future__ import annotations


class AssistantError(Exception):
    """Base class: the CLI and the HTTP API show ``str(error)`` as one line."""


class CorpusError(AssistantError):
    """The corpus (a file or folder of documents) cannot be read."""


class IndexMissingError(AssistantError):
    """No built index at the given path."""


class IndexIncompatibleError(AssistantError):
    """The index was built with another model, format or corpus."""


class IndexCorruptError(AssistantError):
    """The index files are damaged or incomplete."""


class IndexWriteError(AssistantError):
    """The disk refused a write (full, read-only, no permission); the old index stands."""


class IndexUnavailableError(AssistantError):
    """The index's server cannot be reached or refused the credentials (a Milvus index)."""


class IndexBusyError(AssistantError):
    """Another process is writing the index right now."""


class InputError(AssistantError):
    """A question, parameter or file the assistant refuses."""


class DocumentExistsError(InputError):
    """An added document's id is already taken by a different document."""

"""A citation-first question-answering assistant over a corpus of policy documents.

    from assistant import Assistant
    qa = Assistant.load()
    for p in qa.search("what obstacles block migrant citizenization?", k=5):
        print(p.score, p.title, p.section, p.text[:80])
"""

from .core import Assistant
from .errors import AssistantError
from .progress import Progress
from .types import Answer, Citation, Document, Passage

__all__ = ["Answer", "Assistant", "AssistantError", "Citation", "Document", "Passage", "Progress"]

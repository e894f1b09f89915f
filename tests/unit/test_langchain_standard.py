"""LangChain's own standard retriever tests (langchain-tests) run against our retriever."""

from __future__ import annotations

import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from conftest import SEEDS
from fakes import HashEncoder
from langchain_tests.integration_tests import RetrieversIntegrationTests

from assistant import Assistant
from assistant.langchain_retriever import PolicyRetriever


@lru_cache(maxsize=1)
def _assistant() -> Assistant:
    index = Path(tempfile.mkdtemp(prefix="policyqa-lc-")) / "index"
    Assistant.build(SEEDS, index, encoder=HashEncoder())
    return Assistant.load(index, encoder=HashEncoder())


class TestPolicyRetrieverStandard(RetrieversIntegrationTests):
    @property
    def retriever_constructor(self) -> type[PolicyRetriever]:
        return PolicyRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"assistant": _assistant(), "k": 4}

    @property
    def retriever_query_example(self) -> str:
        return "what obstacles block migrant citizenization?"

"""Where an index lives: a folder (the default) or a Milvus database.

Every place that takes an index (``--index``, ``POLICYQA_INDEX``, ``Assistant.load``,
``Assistant.build``, ``policyqa serve``) takes one of:

* a folder path: the folder store (``store.py``);
* ``milvus-lite:PATH``: Milvus Lite embedded in this process, its data in the local folder PATH;
* ``milvus://HOST:PORT[/DB]``, ``http://HOST:PORT[/DB]`` or ``https://HOST:PORT[/DB]``: a Milvus
  server or cluster (``milvus://`` is plain HTTP/2 gRPC, as ``http://``). Its token (``user:password``
  or an API key) comes from ``POLICYQA_MILVUS_TOKEN``, never from the address, which is printed
  in messages and shows in process lists.

Nothing here imports pymilvus: a folder index never loads it.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .errors import InputError

LITE_PREFIX = "milvus-lite:"
TOKEN_ENV = "POLICYQA_MILVUS_TOKEN"
# One index per database; several in one database are told apart by this prefix of their collections.
COLLECTION_ENV = "POLICYQA_MILVUS_COLLECTION"
DEFAULT_COLLECTION = "policyqa"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,30}$")


@dataclass(frozen=True)
class MilvusLocation:
    """A Milvus index: embedded Milvus Lite (``path``) or a server (``address``)."""

    uri: str  # as written, without credentials: what messages show
    path: Path | None = None  # Milvus Lite's data folder
    address: str = ""  # http(s)://host:port of a server
    db: str = ""  # the server's database ("" = default)
    prefix: str = DEFAULT_COLLECTION

    @property
    def lite(self) -> bool:
        return self.path is not None

    @property
    def local_root(self) -> Path:
        """A local folder for what a Milvus index keeps on each machine that uses it: the exported
        query model and the lexical index rebuilt from the passages (see milvus_store)."""
        from .encoder import model_cache

        key = hashlib.sha256(f"{self.uri}\0{self.prefix}".encode()).hexdigest()[:16]
        return model_cache() / "milvus" / key

    def __str__(self) -> str:
        return self.uri

    @property
    def parent(self) -> Path:
        """What the server strips from messages (as a folder index's parent): Milvus Lite's folder's parent."""
        return self.path.parent if self.path is not None else Path("/nonexistent-policyqa-milvus")

    @property
    def name(self) -> str:
        return self.uri

    def token(self) -> str:
        return os.environ.get(TOKEN_ENV, "")


Location = Path | MilvusLocation


def is_milvus(where: object) -> bool:
    return isinstance(where, MilvusLocation) or (isinstance(where, str) and _looks_milvus(where))


def _looks_milvus(text: str) -> bool:
    return text.startswith(LITE_PREFIX) or bool(re.match(r"^(milvus|https?)://", text, re.I))


def parse(where: str | Path | MilvusLocation) -> Location:
    """A folder path or a MilvusLocation from what a user wrote."""
    if isinstance(where, MilvusLocation):
        return where
    if isinstance(where, Path):
        return where
    text = str(where).strip()
    if not _looks_milvus(text):
        return Path(text)
    prefix = os.environ.get(COLLECTION_ENV) or DEFAULT_COLLECTION
    if not _NAME.match(prefix):
        raise InputError(f"{COLLECTION_ENV}={prefix!r} is not a collection name: use letters, digits and _ (up to 31)")
    if text.startswith(LITE_PREFIX):
        raw = text[len(LITE_PREFIX):]
        if not raw:
            raise InputError("milvus-lite: needs a folder, as in milvus-lite:./my_index")
        path = Path(raw).expanduser().resolve()
        return MilvusLocation(f"{LITE_PREFIX}{raw}", path=path, prefix=prefix)
    parts = urlsplit(text)
    if parts.username or parts.password:
        raise InputError(f"put the Milvus credentials in {TOKEN_ENV} (user:password or an API key), not in the "
                         "address: the address shows in messages and process lists")
    if not parts.hostname:
        raise InputError(f"{text}: no host; write milvus://HOST:PORT[/DB] or https://HOST:PORT[/DB]")
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 19530)
    except ValueError:
        raise InputError(f"{text}: the port is not a number") from None
    scheme = "https" if parts.scheme.lower() == "https" else "http"
    db = parts.path.strip("/")
    if db and not _NAME.match(db):
        raise InputError(f"{text}: {db!r} is not a Milvus database name")
    shown = f"{parts.scheme.lower()}://{parts.hostname}:{port}" + (f"/{db}" if db else "")
    return MilvusLocation(shown, address=f"{scheme}://{parts.hostname}:{port}", db=db, prefix=prefix)


def describe(where: Location) -> str:
    return str(where)

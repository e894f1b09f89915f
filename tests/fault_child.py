"""Run one index write (build, add or remove) and SIGKILL this process at its Nth file operation.

    python tests/fault_child.py OP INDEX ARG KILL_AT

Used by tests/unit/test_faults.py. With KILL_AT=0 it runs to the end and prints how many
file operations the write made, so the test knows which points to kill at.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from fakes import HashEncoder  # noqa: E402

from assistant import indexing, store, vectors  # noqa: E402

op, index, arg, kill_at = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
count = 0


def counted(fn):
    def wrapper(*args, **kwargs):
        global count
        count += 1
        if count == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no finally blocks: a real crash
        return fn(*args, **kwargs)

    return wrapper


# Every step that changes the disk during a write: files, folders, renames, syncs, deletions.
os.rename = counted(os.rename)
os.replace = counted(os.replace)
os.fsync = counted(os.fsync)
shutil.rmtree = counted(shutil.rmtree)
store.write_jsonl = counted(store.write_jsonl)
np.save = counted(np.save)
vectors.save = counted(vectors.save)
Path.mkdir = counted(Path.mkdir)
Path.write_text = counted(Path.write_text)

encoder = HashEncoder()
if op == "build":
    indexing.build_index(arg, index, encoder)
elif op == "add":
    indexing.add_documents([arg], index, encoder)
elif op == "remove":
    indexing.remove_documents([arg], index, encoder)
print(count)

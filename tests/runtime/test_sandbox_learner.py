"""Active learners in the sandbox (``Sandbox.learn``): inputs as files of the run's own,
cross-fitted answers, and each way user code or its answer can go wrong."""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import pytest

from assay.algorithms.active_learning import assign_folds
from assay.errors import (
    InvalidCode,
    InvalidOutput,
    MemoryLimitExceeded,
    SandboxTimeout,
    UserCodeError,
)
from assay.runtime.sandbox import LearnerInput, Limits, Sandbox

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="the sandbox switches uids, which only root can do"
)

LIMITS = Limits(timeout_s=60, cpu_s=60, memory_mb=1024)
# Nearest labeled row by dot product: 1.0 for its label. What a row sees decides its answer.
NEAREST = """
import os
import numpy as np

class Nearest:
    min_confidence = 0.5
    labels = None

    def fit(self, embeddings, labels):
        mine = os.stat("embeddings.npy").st_uid == os.getuid()
        print("files", sorted(os.listdir(".")), "owner", mine)
        self.rows = np.array(embeddings)
        self.row_labels = list(labels)
        self.classes_ = sorted(set(labels))

    def predict_proba(self, embeddings):
        best = np.argmax(np.asarray(embeddings) @ self.rows.T, axis=1)
        out = np.zeros((len(embeddings), len(self.classes_)))
        for i, j in enumerate(best):
            out[i, self.classes_.index(self.row_labels[j])] = 1.0
        return out
"""


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox()
    box.start()
    yield box
    box.close()


def examples() -> LearnerInput:
    """Rows 0-3 point one way ("a"), 4-7 another ("b"); rows 0, 1, 4, 5 are labeled, but
    row 1 says "b" (a wrong label): a model that saw it answers "b" for row 1 itself."""
    matrix = np.zeros((8, 4), dtype=np.float32)
    matrix[:4, 0] = 1
    matrix[4:, 1] = 1
    matrix[:, 2] = np.arange(8) / 100  # every row distinct
    rows = np.array([0, 1, 4, 5])
    labels = np.array(["a", "b", "b", "b"])
    return LearnerInput(matrix, rows, labels, assign_folds(rows, labels, 4))


def test_cross_fitted_answers_and_files_of_its_own(sandbox: Sandbox) -> None:
    learned = sandbox.learn(NEAREST, examples(), classes={"a", "b"}, limits=LIMITS)
    assert learned.classes == ["a", "b"] and learned.min_confidence == 0.5
    answers = [learned.classes[i] if i >= 0 else None for i in learned.best]
    # Fitted on all labels, the unlabeled rows 2, 3 find row 1 or row 0 nearest (row 1's
    # dot product is larger: 0.01 vs 0.0 on the third column), rows 6, 7 row 5.
    assert answers[2] == answers[3] == "b" and answers[6] == answers[7] == "b"
    # Held out, row 1 is answered by a model without it: its neighbour row 0 says "a".
    assert answers[1] == "a"
    # Row 0 held out leaves only "b" labels to learn from: no model, no answer.
    assert answers[0] is None
    assert list(learned.probability) == [0.0] + [1.0] * 7
    assert "'embeddings.npy', 'train_folds.npy', 'train_labels.npy', 'train_rows.npy'" in (
        learned.output
    )
    assert "owner True" in learned.output


def test_answers_are_checked(sandbox: Sandbox) -> None:
    unknown = NEAREST.replace("self.classes_ = sorted(set(labels))", "self.classes_ = ['a', 'z']")
    unknown = unknown.replace("self.classes_.index(self.row_labels[j])", "0")
    with pytest.raises(InvalidOutput, match="'z', which is not a label"):
        sandbox.learn(unknown, examples(), classes={"a", "b"}, limits=LIMITS)
    nan = NEAREST.replace("return out", "return out * float('nan')")
    with pytest.raises(UserCodeError, match=r"outside 0\.\.1"):
        sandbox.learn(nan, examples(), classes={"a", "b"}, limits=LIMITS)
    shape = NEAREST.replace("return out", "return out[:, :1]")
    with pytest.raises(UserCodeError, match=r"shape \(8, 1\) for 8 rows and 2 classes"):
        sandbox.learn(shape, examples(), classes={"a", "b"}, limits=LIMITS)
    confidence = NEAREST.replace("min_confidence = 0.5", "min_confidence = 'high'")
    with pytest.raises(InvalidOutput, match="min_confidence must be a number"):
        sandbox.learn(confidence, examples(), classes={"a", "b"}, limits=LIMITS)
    with pytest.raises(InvalidCode, match="one top-level class"):
        sandbox.learn("def f(record):\n    pass\n", examples(), classes={"a"}, limits=LIMITS)


def test_failures_in_user_code(sandbox: Sandbox) -> None:
    raising = NEAREST.replace('print("files"', 'raise KeyError("boom"); print("files"')
    with pytest.raises(UserCodeError, match="KeyError: 'boom' while learning") as caught:
        sandbox.learn(raising, examples(), classes={"a", "b"}, limits=LIMITS)
    (failure,) = caught.value.failures
    assert failure.record_id is None and 'File "<code>"' in failure.traceback
    forever = NEAREST.replace('print("files"', 'while True: pass\n        print("files"')
    with pytest.raises(SandboxTimeout):
        sandbox.learn(forever, examples(), classes={"a", "b"}, limits=Limits(timeout_s=3, cpu_s=10))
    bomb = NEAREST.replace('print("files"', 'x = bytearray(4 << 30)\n        print("files"')
    with pytest.raises(MemoryLimitExceeded):
        sandbox.learn(bomb, examples(), classes={"a", "b"}, limits=LIMITS)
    # And the sandbox still learns.
    assert sandbox.learn(NEAREST, examples(), classes={"a", "b"}, limits=LIMITS).classes

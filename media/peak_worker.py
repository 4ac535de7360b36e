"""Child process that bins one range of a PyAV-decoded file for media.peaks.

PyAV holds the interpreter lock while it decodes, so parallel decoding needs
processes. A plain `python -m media.peak_worker` child is used rather than
multiprocessing: spawn re-imports the parent's __main__, which breaks for
scripts without a main guard and for code run from stdin.

    python -m media.peak_worker SOURCE_JSON START STOP OUT_NPY

SOURCE_JSON is `AudioSource.to_json()`.

STOP < 0 means "to the end". stdout carries one line per decoded block,
"p <samples so far>", then "ok <samples>" (bins saved to OUT_NPY) or
"err <json of MediaError path/problem/detail>".
"""

from __future__ import annotations

import json
import sys

import numpy as np

from labeldesk.media.audio import AudioSource
from labeldesk.media.errors import MediaError
from labeldesk.media.peaks import segment_bins


def main(argv: list[str]) -> int:
    src = AudioSource.from_json(argv[0])
    start, stop, out = int(argv[1]), int(argv[2]), argv[3]

    def done(n: int) -> None:
        print(f"p {n}", flush=True)

    try:
        bins, got = segment_bins(src, start, stop if stop >= 0 else None, done, lambda: False)
    except MediaError as err:
        print("err " + json.dumps({"path": err.path, "problem": err.problem.name, "detail": err.detail}),
              flush=True)
        return 3
    np.save(out, bins)
    print(f"ok {got}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

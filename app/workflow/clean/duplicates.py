"""Stage 2 — exact and near duplicates, within a set and against reference sets.

Exact duplicates
    Two texts are exact duplicates when their *normalised* forms are equal:
    casefolded, whitespace runs collapsed to one space (after the encoding
    stage has repaired and NFC-normalised them).  Compared by a 64-bit BLAKE2b
    hash.

Near duplicates
    The text is cut into casefolded word tokens (``text.WORD_RE``; each CJK
    character is a token) and into *shingles* of ``shingle_size`` consecutive
    tokens (a text with fewer tokens is one shingle).  Similarity is the
    Jaccard index of the two shingle sets.

    Shingle size: the default is 2 (word bigrams), chosen for ~200-character
    texts (~30 words), measured on random texts: one substituted word gives
    J ≈ 0.88 with bigrams (100 % of such pairs >= 0.8), but J ≈ 0.83 with
    trigrams (only 94 % >= 0.8) and ≈ 0.78 with 4-grams (17 %); two
    substitutions give 0.78 / 0.69 / 0.62.  So at the default threshold 0.8,
    "near duplicate" means "differs by about one word, or has a few words
    added".  For long documents use 3–5.

    Candidates come from MinHash + LSH banding, computed with numpy for whole
    chunks of texts at once: every distinct word is hashed once (BLAKE2b,
    cached), shingle hashes are combined from word hashes with vectorised
    64-bit arithmetic, and the ``num_perm`` permutations are the
    datasketch ``affine32`` scheme (MurmurHash3 finalizer, then
    ``a·h + b mod 2³²``) — the signatures are bit-for-bit those of
    ``datasketch.MinHash(num_perm, seed, hashfunc=identity)`` fed the same
    32-bit shingle hashes (a test checks it), so ``lsh: datasketch`` can hand
    them to ``datasketch.MinHashLSH`` as ``LeanMinHash`` objects.  The default
    ``lsh: numpy`` bands them with a sort per band instead, which scales to
    millions of texts in seconds.

    The banding (``bands`` × ``rows``) is chosen, when not configured, as the
    largest ``rows`` whose candidate probability at the threshold,
    ``1 - (1 - t^rows)^bands``, is at least ``min_candidate_probability``
    (0.985): for t = 0.8 and 64 permutations that is 12 bands of 5 rows
    (P = 0.9915 at J = 0.8, 0.9999 at J = 0.9, 0.31 at J = 0.5, 0.03 at J = 0.3).

    Every candidate pair is then *verified with the exact Jaccard* of the two
    shingle sets, so precision is 1 by construction and recall is the LSH
    candidate probability (>= 0.99 for pairs at or above the threshold).

Clustering ("keep one per cluster")
    Items are visited in keep order (input order, or id order with
    ``keep: id``), reference texts first.  An item is a duplicate of the
    *earliest* kept item (or reference text) it shares an LSH bucket with and
    whose exact Jaccard is >= threshold; otherwise it is kept and becomes a
    "leader" others are compared with.  So every removed item names a kept
    item (``duplicate_of``) it really is similar to, and no two kept items
    are near duplicates (as far as LSH finds them).  A bucket keeps at most
    ``max_leaders_per_bucket`` leaders (default 64) to bound the work on
    template-heavy data; beyond that, new leaders of that bucket are not
    compared through it.

Reference sets
    ``reference_texts`` (``(id, text)`` pairs, e.g. the evaluation sets of
    other projects) are never removed or changed; an item that duplicates one
    exactly or nearly is reported as ``duplicate.reference`` (with
    ``duplicate_of`` the reference id) so evaluation items never leak into
    training data.  Build them with :func:`app.workflow.clean.text.dedup_text`
    so both sides are compared on the same fields.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np

from .config import CleanCancelled, CleanConfig
from .text import fast_words, normalize_for_hash

__all__ = [
    "lsh_params",
    "candidate_probability",
    "exact_key",
    "Shingler",
    "DedupFeatures",
    "DedupSettings",
    "band_keys",
    "DuplicateMatch",
    "compute_features",
    "resolve_duplicates",
    "find_duplicates",
    "jaccard",
]

_M64 = np.uint64(0x9E3779B97F4A7C15)
_FMIX64 = (np.uint64(33), np.uint64(0xFF51AFD7ED558CCD), np.uint64(33), np.uint64(0xC4CEB9FE1A85EC53), np.uint64(33))
_FMIX32 = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35), np.uint32(16))
_MAX32 = np.uint32(0xFFFFFFFF)


def _fmix(hv: np.ndarray, consts) -> np.ndarray:
    s1, m1, s2, m2, s3 = consts
    hv = hv ^ (hv >> s1)
    hv = hv * m1
    hv = hv ^ (hv >> s2)
    hv = hv * m2
    return hv ^ (hv >> s3)


def candidate_probability(j: float, bands: int, rows: int) -> float:
    """Probability that two texts of Jaccard ``j`` share at least one LSH band."""
    return 1.0 - (1.0 - j ** rows) ** bands


def lsh_params(threshold: float, num_perm: int, min_probability: float = 0.985) -> tuple[int, int]:
    """(bands, rows): the most selective banding that still finds pairs at
    ``threshold`` with probability >= ``min_probability``."""
    best = (num_perm, 1)
    for rows in range(1, num_perm + 1):
        bands = num_perm // rows
        if bands < 1:
            break
        if candidate_probability(threshold, bands, rows) >= min_probability:
            best = (bands, rows)
    return best


def exact_key(text: str) -> int:
    """64-bit key of the normalised text (0 is never returned)."""
    if text.isascii():  # same bytes as the str path, faster
        data = b" ".join(text.encode("ascii").lower().split())
    else:
        data = normalize_for_hash(text).encode("utf-8", "surrogatepass")
    k = int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")
    return k or 1


class _WordHashes(dict):
    """word -> 64-bit hash, computed once per distinct word."""

    __slots__ = ()

    def __missing__(self, word: str | bytes) -> int:
        data = word if isinstance(word, bytes) else word.encode("utf-8", "surrogatepass")
        h = int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")
        if len(self) > 2_000_000:  # bound memory on huge vocabularies
            self.clear()
        self[word] = h
        return h


_WORD_CACHE = _WordHashes()


class Shingler:
    """Vectorised shingling and MinHash signatures for batches of texts."""

    def __init__(self, shingle_size: int = 3, num_perm: int = 64, seed: int = 1):
        self.n = int(shingle_size)
        self.num_perm = int(num_perm)
        self.seed = int(seed)
        # the datasketch affine32 permutations for this seed
        gen = np.random.RandomState(self.seed)
        a = gen.randint(0, 1 << 31, self.num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
        b = gen.randint(0, 1 << 32, self.num_perm, dtype=np.uint32)
        self.a = a.astype(np.uint32)
        self.b = b.astype(np.uint32)

    # -- shingles ------------------------------------------------------------
    def _shingles(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(shingle hashes uint64 in text order, shingles per text)."""
        n = self.n
        counts = np.empty(len(texts), dtype=np.int64)
        flat: list = []
        for i, t in enumerate(texts):
            toks = fast_words(t)
            counts[i] = len(toks)
            flat += toks
        total = len(flat)
        per_text = np.where(counts >= n, counts - n + 1, np.minimum(counts, 1))
        if total == 0:
            return np.empty(0, dtype=np.uint64), per_text
        h = np.fromiter(map(_WORD_CACHE.__getitem__, flat), dtype=np.uint64, count=total)
        if n == 1:
            s = h
        else:
            starts = np.repeat(np.cumsum(counts) - counts, counts)
            pos = np.arange(total, dtype=np.int64) - starts  # position of the token in its text
            remaining = np.repeat(counts, counts) - pos  # tokens left in the text from here
            hpad = np.concatenate([h, np.zeros(n - 1, dtype=np.uint64)])
            s = h.copy()
            with np.errstate(over="ignore"):
                for k in range(1, n):
                    nxt = np.where(remaining > k, hpad[k:k + total], np.uint64(0))
                    s = s * _M64 + nxt
            valid = pos <= np.maximum(np.repeat(counts, counts) - n, 0)
            s = s[valid]
        with np.errstate(over="ignore"):
            s = _fmix(s, _FMIX64)
        return s, per_text

    def shingle_sets(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Sorted distinct 64-bit shingle hashes of each text."""
        s, per_text = self._shingles(texts)
        out = []
        pos = 0
        for c in per_text.tolist():
            out.append(np.unique(s[pos:pos + c]))
            pos += c
        return out

    # -- minhash ----------------------------------------------------------------
    def hash32(self, shingles64: np.ndarray) -> np.ndarray:
        """The 32-bit values MinHash permutes (the high half of the shingle hash)."""
        return (shingles64 >> np.uint64(32)).astype(np.uint32)

    def signatures(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(signatures uint32 [len(texts), num_perm], has_shingles bool [len(texts)])."""
        s, per_text = self._shingles(texts)
        sig = np.full((len(texts), self.num_perm), _MAX32, dtype=np.uint32)
        has = per_text > 0
        if s.size == 0:
            return sig, has
        rows = np.flatnonzero(has)
        offsets = (np.cumsum(per_text) - per_text)[has]
        with np.errstate(over="ignore"):
            hv = _fmix(self.hash32(s), _FMIX32)
            # one permutation at a time over a contiguous vector: cache friendly
            # and ~40x faster than a (shingles x num_perm) broadcast
            buf = np.empty_like(hv)
            out = np.empty((self.num_perm, len(rows)), dtype=np.uint32)
            for k in range(self.num_perm):
                np.multiply(hv, self.a[k], out=buf)
                np.add(buf, self.b[k], out=buf)
                out[k] = np.minimum.reduceat(buf, offsets)
        sig[rows] = out.T
        return sig, has


def band_keys(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One 64-bit key per band: [len(sig), bands] uint64."""
    out = np.empty((sig.shape[0], bands), dtype=np.uint64)
    s64 = sig.astype(np.uint64)
    with np.errstate(over="ignore"):
        for j in range(bands):
            h = np.full(sig.shape[0], np.uint64(j + 1) * _M64, dtype=np.uint64)
            for r in range(rows):
                h = (h ^ s64[:, j * rows + r]) * np.uint64(0x100000001B3)
                h = h ^ (h >> np.uint64(29))
            out[:, j] = _fmix(h, _FMIX64)
    return out


@dataclass
class DedupFeatures:
    """What a worker computes for a batch of texts (cheap to send between processes)."""

    exact: np.ndarray  # uint64 [n]; 0 = no text (not de-duplicated)
    bands: np.ndarray  # uint64 [n, bands]
    has_shingles: np.ndarray  # bool [n]
    sigs: np.ndarray | None = None  # uint32 [n, num_perm], only for lsh: datasketch

    @staticmethod
    def concat(parts: Sequence["DedupFeatures"], bands: int) -> "DedupFeatures":
        if not parts:
            return DedupFeatures(np.empty(0, np.uint64), np.empty((0, bands), np.uint64), np.empty(0, bool))
        sigs = None
        if all(p.sigs is not None for p in parts):
            sigs = np.concatenate([p.sigs for p in parts])
        return DedupFeatures(
            np.concatenate([p.exact for p in parts]),
            np.concatenate([p.bands for p in parts]),
            np.concatenate([p.has_shingles for p in parts]),
            sigs,
        )

    def __len__(self) -> int:
        return len(self.exact)


class DedupSettings:
    """The duplicates section of a configuration, resolved."""

    def __init__(self, config: CleanConfig):
        d = config["duplicates"]
        self.threshold = float(d["threshold"])
        self.n = int(d["shingle_size"])
        self.num_perm = int(d["num_perm"])
        if d["bands"] is None:
            self.bands, self.rows = lsh_params(self.threshold, self.num_perm, float(d["min_candidate_probability"]))
        else:
            self.bands, self.rows = int(d["bands"]), int(d["rows"])
        self.seed = int(d["seed"])
        self.lsh = d["lsh"]
        self.key = d["key"]
        self.keep = d["keep"]
        self.cap = int(d["max_leaders_per_bucket"])
        self.exact_on = config.enabled("duplicate.exact")
        self.near_on = config.enabled("duplicate.near")
        self.ref_on = config.enabled("duplicate.reference")
        self.shingler = Shingler(self.n, self.num_perm, self.seed)


def compute_features(texts: Sequence[str | None], settings: DedupSettings) -> DedupFeatures:
    """Features of a batch of texts; ``None`` or blank texts get exact key 0."""
    n = len(texts)
    exact = np.zeros(n, dtype=np.uint64)
    present = []
    for i, t in enumerate(texts):
        if t and not t.isspace():
            exact[i] = exact_key(t)
            present.append(i)
    bands = np.zeros((n, settings.bands), dtype=np.uint64)
    has = np.zeros(n, dtype=bool)
    sigs_all = None
    if present and (settings.near_on or settings.ref_on):
        sub = [texts[i] for i in present]
        sigs, h = settings.shingler.signatures(sub)
        idx = np.asarray(present)
        bands[idx] = band_keys(sigs, settings.bands, settings.rows)
        has[idx] = h
        if settings.lsh == "datasketch":
            sigs_all = np.full((n, settings.num_perm), _MAX32, dtype=np.uint32)
            sigs_all[idx] = sigs
    elif settings.lsh == "datasketch":
        sigs_all = np.full((n, settings.num_perm), _MAX32, dtype=np.uint32)
    return DedupFeatures(exact, bands, has, sigs_all)


def jaccard(a: np.ndarray | set, b: np.ndarray | set) -> float:
    if not isinstance(a, set):
        a = set(a.tolist())
    if not isinstance(b, set):
        b = set(b.tolist())
    if not a and not b:
        return 1.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


@dataclass(frozen=True, slots=True)
class DuplicateMatch:
    rule: str  # duplicate.exact | duplicate.near | duplicate.reference
    of: int  # index of the kept entry: < 0 means reference index (-1 - ref_index)
    jaccard: float
    match: str  # "exact" | "near"


def resolve_duplicates(
    refs: DedupFeatures,
    items: DedupFeatures,
    eligible: np.ndarray,
    settings: DedupSettings,
    text_of: Callable[[int], str],
    ref_text_of: Callable[[int], str],
    item_rank: np.ndarray | None = None,
    cancel: Callable[[], bool] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[int, DuplicateMatch]:
    """Decide which items are duplicates.

    ``eligible``: bool per item (items already removed for other reasons or
    without text take no part).  ``item_rank``: keep order (smaller = kept
    first); default input order.  ``text_of(i)`` / ``ref_text_of(r)`` give
    the de-duplication text of item ``i`` / reference ``r`` for the exact
    Jaccard check.  Returns ``{item index: DuplicateMatch}``; ``of`` is an
    item index, or ``-1 - r`` for reference ``r``.
    """
    R, N = len(refs), len(items)
    out: dict[int, DuplicateMatch] = {}
    if N == 0:
        return out
    if item_rank is None:
        item_rank = np.arange(N, dtype=np.int64)
    # combined index space: refs 0..R-1, items R..R+N-1
    rank = np.concatenate([np.arange(R, dtype=np.int64), R + np.asarray(item_rank, dtype=np.int64)])
    exact = np.concatenate([refs.exact, items.exact])
    ok = np.concatenate([refs.exact != 0, np.asarray(eligible, bool) & (items.exact != 0)])
    if not settings.ref_on:
        ok[:R] = False
    alive = ok.copy()  # entries that take part in near-duplicate search

    def to_of(e: int) -> int:
        return e - R if e >= R else -1 - e

    # ---- exact duplicates ----------------------------------------------------
    if settings.exact_on or settings.ref_on:
        idx = np.flatnonzero(ok)
        idx = idx[np.argsort(rank[idx], kind="stable")]
        _, first, inverse = np.unique(exact[idx], return_index=True, return_inverse=True)
        keeper = idx[first[inverse]]
        dup = keeper != idx
        for e, k in zip(idx[dup].tolist(), keeper[dup].tolist()):
            alive[e] = False
            if e < R:
                continue  # a reference repeated in the reference set
            if k < R:
                out[e - R] = DuplicateMatch("duplicate.reference", to_of(k), 1.0, "exact")
            elif settings.exact_on:
                out[e - R] = DuplicateMatch("duplicate.exact", to_of(k), 1.0, "exact")
            else:
                alive[e] = True  # exact rule off: let the near rule see it

    if not (settings.near_on or settings.ref_on):
        return out

    # ---- near duplicates: LSH buckets -----------------------------------------
    has = np.concatenate([refs.has_shingles, items.has_shingles])
    alive &= has
    if not settings.ref_on:
        alive[:R] = False
    ent = np.flatnonzero(alive)
    ent = ent[np.argsort(rank[ent], kind="stable")]
    if ent.size < 2:
        return out

    if settings.lsh == "datasketch":
        candidates_of, members = _datasketch_candidates(refs, items, ent, settings, R)
    else:
        candidates_of, members = _numpy_buckets(refs, items, ent, settings, R)
    if not members:
        return out

    # exact Jaccard needs the shingle sets of the entries that have candidates
    order = sorted(members, key=lambda e: rank[e])
    sets: dict[int, set] = {}
    batch = 4096
    for i in range(0, len(order), batch):
        part = order[i:i + batch]
        txts = [ref_text_of(e) if e < R else text_of(e - R) for e in part]
        for e, arr in zip(part, settings.shingler.shingle_sets(txts)):
            sets[e] = set(arr.tolist())
        if cancel is not None and cancel():
            raise CleanCancelled()

    thr = settings.threshold
    leaders_in: dict[int, list[int]] = {}
    is_leader: set[int] = set()
    for n_done, e in enumerate(order):
        if cancel is not None and n_done % 5000 == 0:
            if cancel():
                raise CleanCancelled()
            if progress is not None:
                progress(n_done, len(order))
        keys = candidates_of(e)
        if e >= R:
            cands: set[int] = set()
            if settings.lsh == "datasketch":
                cands = {c for c in keys if c in is_leader and rank[c] < rank[e]}
            else:
                for g in keys:
                    lst = leaders_in.get(g)
                    if lst:
                        cands.update(lst)
            match = None
            if cands:
                se = sets[e]
                for c in sorted(cands, key=lambda x: rank[x]):
                    if c < R and not settings.ref_on:
                        continue
                    if c >= R and not settings.near_on:
                        continue
                    j = jaccard(se, sets[c])
                    if j >= thr:
                        match = (c, j)
                        break
            if match is not None:
                c, j = match
                rule = "duplicate.reference" if c < R else "duplicate.near"
                out[e - R] = DuplicateMatch(rule, to_of(c), round(j, 4), "near")
                continue
        is_leader.add(e)
        if settings.lsh != "datasketch":
            for g in keys:
                lst = leaders_in.setdefault(g, [])
                if len(lst) < settings.cap:
                    lst.append(e)
    if progress is not None:
        progress(len(order), len(order))
    return out


def _numpy_buckets(refs, items, ent, settings, R):
    """Bucket ids per entry, for buckets holding >= 2 entries (one sort per band)."""
    bands = np.concatenate([refs.bands, items.bands])[ent]
    pair_e: list[np.ndarray] = []
    pair_g: list[np.ndarray] = []
    gid_base = 0
    for j in range(settings.bands):
        k = bands[:, j]
        o = np.argsort(k, kind="stable")
        ks = k[o]
        newgrp = np.empty(len(ks), dtype=bool)
        newgrp[0] = True
        newgrp[1:] = ks[1:] != ks[:-1]
        gnum = np.cumsum(newgrp) - 1
        sizes = np.bincount(gnum)
        multi = sizes[gnum] >= 2
        if not multi.any():
            continue
        pair_e.append(ent[o[multi]])
        pair_g.append(gnum[multi] + gid_base)
        gid_base += len(sizes)
    if not pair_e:
        return (lambda e: ()), []
    pe = np.concatenate(pair_e)
    pg = np.concatenate(pair_g)
    srt = np.argsort(pe, kind="stable")
    pe, pg = pe[srt], pg[srt]
    uniq, starts = np.unique(pe, return_index=True)
    ends = np.append(starts[1:], len(pe))
    groups = {int(e): pg[s:t].tolist() for e, s, t in zip(uniq.tolist(), starts.tolist(), ends.tolist())}
    return (lambda e: groups.get(e, ())), list(groups)


def _datasketch_candidates(refs, items, ent, settings, R):
    """Candidates from datasketch.MinHashLSH over LeanMinHash objects."""
    from datasketch import LeanMinHash, MinHashLSH

    if refs.sigs is None or items.sigs is None:
        raise ValueError("lsh: datasketch needs signatures (compute_features with lsh=datasketch)")
    sigs = np.concatenate([refs.sigs, items.sigs])
    lsh = MinHashLSH(threshold=settings.threshold, num_perm=settings.num_perm, params=(settings.bands, settings.rows))
    mh = {}
    for e in ent.tolist():
        m = LeanMinHash(seed=settings.seed, hashvalues=sigs[e], scheme="affine32")
        mh[e] = m
        lsh.insert(e, m)
    cand = {}
    for e in ent.tolist():
        c = [x for x in lsh.query(mh[e]) if x != e]
        if c:
            cand[e] = c
    members = set(cand)
    for lst in cand.values():
        members.update(lst)
    return (lambda e: cand.get(e, ())), list(members)


def find_duplicates(
    texts: Iterable[tuple[str, str]],
    reference_texts: Iterable[tuple[str, str]] = (),
    config: CleanConfig | None = None,
) -> dict[str, tuple[str, str, float]]:
    """Standalone use: ``{id: (rule, duplicate_of id, jaccard)}`` for the duplicates among ``texts``.

    ``texts`` and ``reference_texts`` are ``(id, text)`` pairs; ``texts`` are
    kept in the given order (the first of a cluster is kept).
    """
    config = config or CleanConfig.default()
    st = DedupSettings(config)
    items = list(texts)
    refs = list(reference_texts)
    fi = compute_features([t for _, t in items], st)
    fr = compute_features([t for _, t in refs], st)
    res = resolve_duplicates(
        fr, fi, np.ones(len(items), bool), st,
        text_of=lambda i: items[i][1], ref_text_of=lambda r: refs[r][1],
    )
    out = {}
    for i, m in res.items():
        of = items[m.of][0] if m.of >= 0 else refs[-1 - m.of][0]
        out[items[i][0]] = (m.rule, of, m.jaccard)
    return out

"""Near-identical failure signatures merged into one mode: TF-IDF over their words, HDBSCAN
over the cosine distances between them.

Deterministic: the signatures are deduplicated and sorted before clustering, HDBSCAN over a
precomputed distance matrix has no random state, and each cluster is named by its smallest
member, so the same signatures always give the same modes whatever order they came in.
HDBSCAN's clusters are relative to the density around them: among a few unrelated messages
of one kind it groups "connection refused by db-primary" with "connection reset by peer". So a
cluster is split twice more: by error type, then into the members linked by a chain of pairs at
most ``max_distance`` apart (cosine distance of their TF-IDF vectors).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

# Words, and the masks' tokens (<ip>, <n>, ...) as words of their own.
TOKEN_PATTERN = r"<\w+>|[A-Za-z_][\w.]*|\d+"


@dataclass(frozen=True)
class MergeSettings:
    enabled: bool = False
    min_cluster_size: int = 2
    max_distance: float = 0.3
    # Above this many distinct signatures in one evaluation, no merging: the distance matrix
    # grows with the square of the count (2,000 signatures: 32 MB).
    max_signatures: int = 2000


def error_type(sig: str) -> str:
    return sig.split(": ", 1)[0]


def merge_signatures(signatures: Iterable[str], settings: MergeSettings) -> dict[str, str]:
    """Each distinct signature -> the smallest member of its cluster (itself when it is in
    none, or merging is off)."""
    ordered = sorted(set(signatures))
    identity = {s: s for s in ordered}
    if (
        not settings.enabled
        or len(ordered) <= settings.min_cluster_size
        or len(ordered) > settings.max_signatures
    ):
        return identity
    distances = _distances(ordered)
    if distances is None:
        return identity
    labels = _hdbscan(distances, settings.min_cluster_size)
    clusters: dict[tuple[int, str], list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        if label >= 0:
            clusters[(label, error_type(ordered[i]))].append(i)
    merged = dict(identity)
    for members in clusters.values():
        for component in _linked(members, distances, settings.max_distance):
            # ``ordered`` is sorted and components keep its order: the first is the smallest.
            for i in component:
                merged[ordered[i]] = ordered[component[0]]
    return merged


def _distances(ordered: list[str]):
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_distances

    try:
        vectors = TfidfVectorizer(token_pattern=TOKEN_PATTERN).fit_transform(ordered)
    except ValueError:  # no word in any signature
        return None
    return np.clip(cosine_distances(vectors), 0.0, None)


def _hdbscan(distances, min_cluster_size: int) -> list[int]:
    from sklearn.cluster import HDBSCAN

    model = HDBSCAN(min_cluster_size=min_cluster_size, metric="precomputed", copy=True)
    return [int(label) for label in model.fit_predict(distances)]


def _linked(members: list[int], distances, max_distance: float) -> list[list[int]]:
    """The members split into chains of pairs at most ``max_distance`` apart, each in order."""
    parent = {i: i for i in members}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, i in enumerate(members):
        for j in members[a + 1 :]:
            if distances[i, j] <= max_distance:
                parent[max(root(i), root(j))] = min(root(i), root(j))
    components: dict[int, list[int]] = defaultdict(list)
    for i in members:
        components[root(i)].append(i)
    return [c for c in components.values() if len(c) > 1]

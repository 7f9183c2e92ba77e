"""Embeddings (computed as jobs), similar records and outliers."""

from __future__ import annotations

from typing import Any

from assay import documents
from assay.facade.base import Facade
from assay.services import (
    embedders,
    embedding_runs,
    embeddings,
    search,
    slices,
)


class Embeddings(Facade):
    """Embeddings, neural search, outliers."""

    # --- embeddings, neural search and outliers ----------------------------------------------

    def add_embedding(
        self,
        project: str,
        attribute: str,
        *,
        embedder: str = "tfidf-svd",
        level: str = "attribute",
        reducer: str | None = None,
        name: str | None = None,
        wait: bool = False,
    ) -> documents.JobPublic:
        """Add an embedding of a text attribute (``embedder``: ``tfidf-svd``,
        ``st:PACKAGE-OR-PATH`` or ``model2vec:PATH``; ``level`` attribute or token;
        ``reducer`` e.g. ``pca-64``) and compute it as a job; returns the job, whose result
        holds the embedding."""
        created = self._in(
            project,
            lambda s, p: (
                embeddings.create(
                    s, p, attribute, embedder=embedder, level=level, reducer=reducer, name=name
                ).name
            ),
        )
        return self.run_embedding(project, created, wait=wait)

    def list_embedders(self) -> list[documents.EmbedderPublic]:
        """The embedders on offer: the built-in one and the sentence-transformers models
        installed as packages (``{"embedder", "title", "semantic"}``)."""
        return embedders.available()

    def list_embeddings(self, project: str) -> list[documents.EmbeddingPublic]:
        return self._in(
            project, lambda s, p: [embeddings.describe(e) for e in embeddings.list_all(s, p)]
        )

    def get_embedding(self, project: str, name: str) -> documents.EmbeddingPublic:
        return self._in(project, lambda s, p: embeddings.describe(embeddings.get(s, p, name)))

    def delete_embedding(self, project: str, name: str) -> None:
        data_dir = self.settings.data_dir
        self._in(project, lambda s, p: embeddings.delete_embedding(s, p, name, data_dir))

    def run_embedding(self, project: str, name: str, *, wait: bool = False) -> documents.JobPublic:
        """Compute an embedding as a job: only the texts its live vectors lack (new and
        changed records) are embedded; the rest are reused. Returns the job."""
        job_id = self._in(project, lambda s, p: embeddings.queue(s, p, name))
        return self._start(
            embeddings.JOB_KIND,
            project,
            "",
            lambda progress: embedding_runs.run(
                self.db,
                project,
                name,
                job_id,
                data_dir=self.settings.data_dir,
                map_function=self.executor.map,
                exact_below=self.settings.exact_search_below,
                progress=progress,
            ),
            wait=wait,
            job_id=job_id,
        )

    def similar(
        self,
        project: str,
        *,
        embedding: str | None = None,
        record: int | str | None = None,
        text: str | None = None,
        where: Any = None,
        limit: int = 10,
        threshold: float | None = None,
    ) -> documents.SimilarResult:
        """The records most similar to a record (id or ``col=value`` key) or to a text, among
        those ``where`` matches (the full ``limit`` whenever that many reach the threshold),
        best first: ``{"embedding", "threshold", "records": [{"id", "key", "score",
        "data"}]}``. ``embedding``: default the first ready attribute-level one;
        ``threshold``: default the embedder's."""
        query = {"record": record, "text": text, "where": where, "limit": limit}
        return self._in(
            project,
            lambda s, p: search.similar(
                s, p, embedding, self.settings.data_dir, threshold=threshold, **query, **self._index
            ),
        )

    def outliers(self, project: str, embedding: str, *, limit: int = 50) -> documents.OutlierResult:
        """The records furthest from the manually labeled ones (``method`` labeled; labeled
        records left out), or, before any manual label, from their nearest neighbours
        (``method`` density); highest score first: ``{"embedding", "method", "records"}``."""
        return self._in(
            project,
            lambda s, p: search.outliers(
                s,
                p,
                embeddings.get(s, p, embedding),
                self.settings.data_dir,
                limit=limit,
                **self._index,
            ),
        )

    def create_outlier_slice(
        self, project: str, embedding: str, *, size: int = 100
    ) -> documents.SlicePublic:
        """Create or refresh the static slice ``outliers-<embedding>`` with the ``size``
        records of highest outlier score now."""

        def make(s: Any, p: Any) -> documents.SlicePublic:
            found = embeddings.get(s, p, embedding)
            made = search.outlier_slice(
                s, p, found, self.settings.data_dir, size=size, **self._index
            )
            return slices.describe(s, p, made)

        return self._in(project, make)

    @property
    def _index(self) -> dict[str, Any]:
        """How searches choose between an exact and an approximate index."""
        return {"exact_below": self.settings.exact_search_below}

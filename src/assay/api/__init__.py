"""The REST API (FastAPI): thin routes over :class:`assay.workbench.Workbench`."""

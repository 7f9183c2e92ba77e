"""The Workbench's methods, one module per capability: each method opens a unit of work,
calls one service entry point and returns its document. :class:`assay.workbench.Workbench`
composes them with what it owns itself: the process-lifetime objects, starting jobs, the
reactions to writes, projects."""

"""The pipeline's I/O side: Prefect flows, source readers, validation, the
warehouse and the reports (``openbooks.flows``, the folder ``flows/``)."""

"""Exchange with ATLAS.ti, NVivo, MAXQDA and QualCoder through the REFI-QDA 1.0 standard.

- :func:`export_qdpx` / :func:`import_qdpx`: whole projects (``.qdpx``: sources, codes,
  codings with their coders, memos, document attributes and speakers);
- :func:`write_qdc` / :func:`import_qdc`: codebooks (``.qdc``).

Every file written is validated against the schemas in ``qualcode/data`` first; every file read
is validated before anything is imported. See docs/interoperability.md for the mapping rules.
"""

from __future__ import annotations

from qualcode.refi.codebook import import_qdc, read_qdc, write_qdc
from qualcode.refi.errors import RefiError
from qualcode.refi.project import QdpxExportReport, export_qdpx
from qualcode.refi.project_import import QdpxImportReport, import_qdpx, read_qdpx

__all__ = [
    "QdpxExportReport",
    "QdpxImportReport",
    "RefiError",
    "export_qdpx",
    "import_qdc",
    "import_qdpx",
    "read_qdc",
    "read_qdpx",
    "write_qdc",
]

"""The DataLad data home: a superdataset with one subdataset per installed dataset, the install sources it accepts
(URL, local folder, DataLad dataset), and the operations on it (get, drop, status, verify). ``datalad_ops`` is the
only module that calls DataLad; the home hands readers of ``benchmark.data`` a folder and a fetcher, and stamps every
case with the subdataset's commit as its data version."""

from __future__ import annotations

__all__: list[str] = []

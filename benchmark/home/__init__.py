"""The DataLad data home: a superdataset with one subdataset per installed dataset, the install sources it accepts
(URL, local folder, DataLad dataset), and the operations on it (install, get, drop, remove, status, verify).

``data_home`` holds ``DataHome``; ``datalad_ops`` is the only module that calls DataLad, ``git_ops`` runs plain git and
git-annex plumbing; ``installation`` makes and checks what an install adds, ``transactions`` makes it crash-safe,
``folder_source`` checks folder sources by content, ``source_links`` applies the link policy, ``sources`` recognises
sources. The home hands readers of ``benchmark.data`` a folder and a fetcher, and stamps every case with the
subdataset's commit as its data version."""

from __future__ import annotations

__all__: list[str] = []

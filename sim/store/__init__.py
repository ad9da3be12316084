"""Reading and writing run, sweep and stress directories (the only module that writes files).

Every file is written to a temporary name in the same folder and renamed into place,
so a killed process never leaves a half-written file under a final name.

Modules: ``files`` (one file, atomically), ``folders`` (output folders) and ``partial``
(finished blocks, manifests, resume).
"""

from __future__ import annotations

from sim.store.files import (
    MARKER,
    atomic_write,
    is_capsims,
    read_json,
    refuse_foreign,
    write_json,
    write_parquet,
    write_scenario,
    write_text,
)
from sim.store.folders import (
    FolderStore,
    check_folder,
    clear_out,
    data_files_of,
    holding,
    inputs_of,
    kind_of,
    prepare_out,
    replace_dir,
    replacing,
    write_compare,
    write_optimize,
    write_run,
    write_stress,
    write_sweep,
)
from sim.store.partial import (
    FramesStore,
    check_manifest,
    drop_partial,
    fingerprint,
    manifest_difference,
    partial_dir,
    prepare_partial,
)

__all__ = [
    "MARKER",
    "FolderStore",
    "FramesStore",
    "atomic_write",
    "check_folder",
    "check_manifest",
    "clear_out",
    "data_files_of",
    "drop_partial",
    "fingerprint",
    "holding",
    "inputs_of",
    "is_capsims",
    "kind_of",
    "manifest_difference",
    "partial_dir",
    "prepare_out",
    "prepare_partial",
    "read_json",
    "refuse_foreign",
    "replace_dir",
    "replacing",
    "write_compare",
    "write_json",
    "write_optimize",
    "write_parquet",
    "write_run",
    "write_scenario",
    "write_stress",
    "write_sweep",
    "write_text",
]

"""RCM ingestion services: receive files, load them, quarantine, feeds, denial lifecycle (docs/rcm_ingestion.md).

Every service takes keyword-only arguments and works inside the active organization
(``revops.tenancy.tenant_context``). The public ones are re-exported here.
"""
from .denials import (
    carc_categories_install_defaults,
    carc_category_map,
    denial_appeal,
    denial_reopen,
    denial_write_off,
    denials_detect_overturns,
)
from .feeds import feed_delete, feed_inbox_path, feed_save, inbox_poll
from .files import file_open, file_path, file_receive
from .ingest_csv import CSV_FIELDS, default_mapping, mapping_errors
from .quarantine import quarantine_discard, quarantine_fix, quarantine_fix_file
from .reference import carc_category_save, program_mapping_delete, program_mapping_save
from .runs import ingestion_execute, ingestion_load, ingestion_rerun, ingestion_start, ingestion_submit

__all__ = [
    "CSV_FIELDS",
    "carc_categories_install_defaults",
    "carc_category_map",
    "carc_category_save",
    "default_mapping",
    "denial_appeal",
    "denial_reopen",
    "denial_write_off",
    "denials_detect_overturns",
    "feed_delete",
    "feed_inbox_path",
    "feed_save",
    "file_open",
    "file_path",
    "file_receive",
    "inbox_poll",
    "ingestion_execute",
    "ingestion_load",
    "ingestion_rerun",
    "ingestion_start",
    "ingestion_submit",
    "mapping_errors",
    "program_mapping_delete",
    "program_mapping_save",
    "quarantine_discard",
    "quarantine_fix",
    "quarantine_fix_file",
]

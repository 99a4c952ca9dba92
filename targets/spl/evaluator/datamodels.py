"""CIM data model datasets, as ``| datamodel <model> <dataset> search`` and ``| tstats ... FROM
datamodel=<model>.<dataset>`` read them.

From the Splunk Common Information Model Add-on 8.5 reference (help.splunk.com/en/data-management/
common-information-model/8.5/data-models/...): "The following tags act as constraints to identify
your events as being relevant to this data model" (the tags per dataset below), and "The following
table lists the extracted and calculated fields for the event datasets in the model" - the field
names below, and, for calculated fields, the table's "Expression:" verbatim (two typos of the
reference fixed where marked). An event of the dataset carries its CIM fields; the data model
evaluates each calculated field's expression over the event's own (extracted) value.

The ``datamodel`` command (Search Reference, datamodel): ``search`` mode "Returns the search results
exactly how they are defined", and ``flat`` mode "Returns the same results as the search, except that
it strips the hierarchical information from the field names. For example, where search mode might
return a field named dmdataset.server, the flat mode returns a field named server": in ``search`` mode
a field is named ``<dataset>.<field>`` ("Each data set is directly searchable as DataModel.DataSet",
Endpoint reference; tstats names them the same way). With ``strict_fields=true`` (the default) "the
search returns only default fields and fields that are included in the constraints of the specified
data model dataset": the dataset's fields, plus ``_time`` and the evaluator's own ``_id``.

Kept apart from eqlc's cim.yaml on purpose: a wrong tag, field or fill rule in the emitter's mapping
then shows as a different selection.

Evaluating a calculated field can hit undocumented behaviour (an expression over a multivalue field);
the result is then a :class:`Poisoned` value, which raises :class:`.errors.Undocumented` only when a
later command reads the field: a field no command reads cannot change which events are selected.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import values as V
from .errors import SplError, Undocumented, Unsupported


def _unknown(name: str) -> str:
    return f'if(isnull({name}) OR {name}="","unknown",{name})'


@dataclass(frozen=True)
class DatasetDef:
    model: str
    node: str
    tags: tuple[str, ...]
    fields: tuple[str, ...]
    calculated: dict = field(default_factory=dict)  # field -> eval expression


_PROCESSES = DatasetDef(
    "Endpoint", "Processes", ("process", "report"),
    ("action", "cpu_load_percent", "dest", "loaded_file", "mem_used", "original_file_name", "os", "parent_process",
     "parent_process_exec", "parent_process_hash", "parent_process_id", "parent_process_guid", "parent_process_name",
     "parent_process_path", "process", "process_current_directory", "process_exec", "process_hash", "process_guid",
     "process_id", "process_integrity_level", "process_name", "process_path", "tag", "user", "user_id", "vendor_product"),
    {
        "dest": _unknown("dest"),
        "parent_process": _unknown("parent_process"),
        # (the reference ends this expression with a stray `"`)
        "parent_process_name": 'case(isnotnull(parent_process_name) AND parent_process_name!="",parent_process_name, '
                               'isnotnull(parent_process) AND parent_process!="",replace(parent_process, "^\\s*([^\\s]+).*","\\1"),'
                               '1=1,"unknown")',
        "process": _unknown("process"),
        "process_name": 'case(isnotnull(process_name) AND process_name!="",process_name,isnotnull (process) AND '
                        'process!="",replace(process,"^\\s*([^\\s]+).*","\\1"),1=1,"unknown")',
        "user": _unknown("user"),
    },
)

_FILESYSTEM = DatasetDef(
    "Endpoint", "Filesystem", ("endpoint", "filesystem"),
    ("action", "dest", "file_access_time", "file_create_time", "file_hash", "file_modify_time", "file_name", "file_path",
     "file_acl", "file_size", "image", "process_guid", "process_id", "tag", "user", "vendor_product"),
    {
        "action": _unknown("action"),
        "dest": _unknown("dest"),
        "file_hash": _unknown("file_hash"),
        "file_name": _unknown("file_name"),  # (the reference omits the closing parenthesis)
        "file_path": _unknown("file_path"),
        "file_acl": _unknown("file_acl"),
        "file_size": "if(isnum(file_size),file_size,null())",
        "user": _unknown("user"),
    },
)

_REGISTRY = DatasetDef(
    "Endpoint", "Registry", ("endpoint", "registry"),
    ("action", "dest", "image", "process_guid", "process_id", "registry_hive", "registry_path", "registry_key_name",
     "registry_value_data", "registry_value_name", "registry_value_text", "registry_value_type", "status", "tag", "user",
     "vendor_product"),
    {name: _unknown(name) for name in ("action", "dest", "registry_path", "registry_key_name", "registry_value_data",
                                        "registry_value_name", "registry_value_type", "user")},
)

_ALL_TRAFFIC = DatasetDef(
    "Network_Traffic", "All_Traffic", ("network", "communicate"),
    ("action", "app", "bytes", "bytes_in", "bytes_out", "channel", "dest", "dest_interface", "dest_ip", "dest_mac", "dest_port",
     "dest_translated_ip", "dest_translated_port", "dest_zone", "direction", "duration", "dvc", "dvc_ip", "dvc_mac", "dvc_zone",
     "flow_id", "icmp_code", "icmp_type", "packets", "packets_in", "packets_out", "process_guid", "process_id", "protocol",
     "protocol_version", "response_time", "rule", "rule_id", "session_id", "src", "src_interface", "src_ip", "src_mac",
     "src_port", "src_translated_ip", "src_translated_port", "src_zone", "ssid", "tag", "tcp_flag", "transport", "tos", "ttl",
     "user", "vendor_account", "vendor_product", "vlan", "wifi"),
)

_DNS = DatasetDef(
    "Network_Resolution", "DNS", ("network", "resolution", "dns"),
    ("additional_answer_count", "answer", "answer_count", "authority_answer_count", "dest", "dest_port", "duration",
     "message_type", "name", "query", "query_count", "query_type", "record_type", "reply_code", "reply_code_id",
     "response_time", "src", "src_port", "tag", "transaction_id", "transport", "ttl", "vendor_product"),
)

_AUTHENTICATION = DatasetDef(
    "Authentication", "Authentication", ("authentication",),
    ("action", "app", "authentication_method", "authentication_service", "dest", "dest_nt_domain", "duration", "process",
     "reason_id", "response_time", "result", "signature", "signature_id", "src", "src_nt_domain", "src_user",
     "src_user_id", "src_user_role", "src_user_type", "tag", "user", "user_agent", "user_id", "user_role", "user_type",
     "vendor_account"),
)

_ALL_CHANGES = DatasetDef(
    "Change", "All_Changes", ("change",),
    ("action", "change_type", "command", "dest", "dvc", "image_id", "object", "object_attrs", "object_category", "object_id",
     "object_path", "result", "result_id", "src", "status", "tag", "user", "user_agent", "user_name", "user_type",
     "vendor_account", "vendor_product", "vendor_region"),
)

DATASETS: dict[str, DatasetDef] = {f"{d.model}.{d.node}": d for d in
                                   (_PROCESSES, _FILESYSTEM, _REGISTRY, _ALL_TRAFFIC, _DNS, _AUTHENTICATION, _ALL_CHANGES)}
CONSTRAINT_TAGS: dict[str, tuple[str, ...]] = {k: d.tags for k, d in DATASETS.items()}


def meets_constraint(row: V.Event, ds: DatasetDef) -> bool:
    have = set(V.get(row, "tag") or [])
    return all(t in have for t in ds.tags)


def dataset_view(row: V.Event, ds: DatasetDef) -> V.Event:
    """The event as the dataset returns it: calculated fields evaluated over the event's own values,
    then the dataset's fields named ``<dataset>.<field>`` (plus ``_time`` and ``_id``)."""
    from . import eval_lang as E

    values = {k: v for k, v in row.items() if not k.startswith("_")}
    for name, expr in ds.calculated.items():
        try:
            v = E.evaluate(_parsed(expr), E.Env(row))
            stored = E.assign_value(v)
        except (Undocumented, Unsupported, SplError) as err:
            values[name] = [V.Poisoned(str(err))]
            continue
        if stored is None:
            values.pop(name, None)
        else:
            values[name] = stored
    out: V.Event = {k: row[k] for k in ("_time", "_id") if k in row}
    for name in ds.fields:
        if name in values:
            out[f"{ds.node}.{name}"] = values[name]
    return out


_PARSED: dict = {}


def _parsed(expr: str):
    from . import eval_lang as E

    e = _PARSED.get(expr)
    if e is None:
        e = _PARSED[expr] = E.parse_eval(expr)
    return e

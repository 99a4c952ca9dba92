"""Schema profiles: which Kusto table holds each EQL event category and which column holds each
ECS field, read from the profile's YAML (``defender.yaml``, ``sentinel-asim.yaml``) with the user's
``--mapping FILE`` deep-merged over it.

The same :class:`Profile` drives the emitter and the duckdb-kql fixture adapter, so a field is
mapped once. Nothing here knows KQL syntax; it only answers "which column, of which type, with
which stated caveat".
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Optional

from eqlc.errors import MappingError
from eqlc.mapping import ANY, load_mapping

from . import per_event_id
from .per_event_id import PerEventId

if TYPE_CHECKING:
    from .hives import HiveNames

HERE = Path(__file__).resolve().parent
PROFILE_FILES = {"defender": HERE / "defender.yaml", "sentinel-asim": HERE / "sentinel-asim.yaml",
                 "sentinel": HERE / "sentinel.yaml"}
DEFAULT_PROFILE = "defender"

# The shape of a profile YAML (and of a user's --mapping file merged over it); see the entry kinds
# at the top of defender.yaml.
_FIELD_ENTRY = {"column": None, "note": None, "values": None, "lookup": None, "expr": None, "columns": None,
                "type": None, "argv_of": None, "argc_of": None, "hive_spelling": None, "keyword_number": None,
                "unique_within": None, "key_only": None, "key": None, "event_data_from": None,
                "event_ids": None, "event_ids_unread": None, "ip_text": None,
                "java_map": None, "json_path": None, "one_to_one": None, "key_list": None,
                "object_path": None, "json_text": None, "value_when": {ANY: None}, "kv_path": None, "list_key": None,
                "cef_text": None, "words_of": {"column": None, "ids": None},
                "java_long": None, "shape": {"regex": None, "name": None, "os": None},
                "object_key": None, "members": None, "object_member": None, "by": None,
                "source_table": {"log": None, "key": None, "column": None},
                "by_event_id": None, "otherwise": None, "around": None}
_TABLE = {"category": None, "note": None, "sources": None, "shared_sources": None, "source_note": None, "route": None,
          "joint_route": {ANY: None}, "created_field": None, "categories": None, "categories_note": None, "fill": None,
          "event_data_xml": {"column": None, "prefix": None, "note": None, "not_in_xml": None, "empty_values": None,
                             "moved": None},
          "where": {ANY: None}, "facts": {ANY: None}, "fields": {ANY: _FIELD_ENTRY},
          "chosen_by": None, "rows_need": None, "others_in": None, "event_id": None, "unmapped": {ANY: None}, "absent": {ANY: None},
          "username": {"column": None, "type_column": None, "only_type": None},
          "registry_hives": {"column": None, "hive_field": None, "key_field": None, "names": {ANY: None}}}
SCHEMA = {
    "profile": None, "timestamp": None, "case_insensitive": None, "argv_from_command_line": None, "event_id": None,
    "lookups": {ANY: {"table": None, "join_on": None, "query": None, "columns": {ANY: None}, "note": None, "period": None,
                      "stored_as_list": {ANY: None}}},
    "common_fields": {ANY: _FIELD_ENTRY}, "tables": {ANY: _TABLE}, "types": {ANY: None},
    "extra_columns": {ANY: {ANY: None}},
    "acting_process": {ANY: _FIELD_ENTRY},  # defender.yaml: the anchor of the initiating-process fields
    # deployment (targets/kql/sentinel.py, deploy.py): the Sentinel analytics rule and whether rules start enabled
    "sentinel": {"time_column": None, "connector": None, "connectors": {ANY: None}, "entities": {"common": None, "tables": {ANY: None}}},
    "deploy": {"enabled": None},
    "datasets": {"fields": None, "endpoint": None},  # data-source fields and the endpoint data sets tables stand for
    # raw-tables profile: index patterns whose data no table of the profile holds, with why (raw_tables.narrow)
    "no_raw_table": None,
    # raw-tables profile: index patterns whose data the profile takes to be absent when the rule names other
    # indices beside them (Elastic Defend's logs-endpoint.*: the defender profile's data; raw_tables._present)
    "absent_sources": None,
}

STRING_TYPES = {"string"}
ANY_CATEGORY = "*"  # a table holding events of every category (a raw log table chosen by index)
NUMERIC_TYPES = {"int", "long", "real", "decimal"}


@dataclass(frozen=True)
class Lookup:
    """A join that brings a column the event table lacks (e.g. DeviceInfo's OSPlatform)."""

    name: str
    table: str
    on: str
    query: str
    columns: dict[str, str]
    note: str = ""
    # output column -> the table's dynamic column the query reads it from as a one-element list
    # (Heartbeat's ComputerPrivateIPs): the fixture adapter writes the value there, as a list
    stored_as_list: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FieldMap:
    """Where one ECS field lives in one table.

    ``values`` (ECS value -> column values) makes the field value-mapped: only literal
    comparisons with a listed value translate. ``expr`` is a Kusto expression used instead of
    a bare column (e.g. a file name cut from a path); ``columns`` are the columns it reads.

    ``argv_of`` (an ECS command-line field of the same table) makes an ECS argument array
    (``process.args``) read from that command line, split on single spaces; ``argc_of`` makes an
    argument count (``process.args_count``) the number of those words. Both are exact only under
    the assumption :mod:`eqlc.targets.kql.argv` states; ``column``/``expr`` are then the command
    line's own (resolved when the profile loads).
    """

    field: str
    column: Optional[str]
    type: str
    note: str = ""
    values: Optional[dict[str, tuple[str, ...]]] = None
    lookup: Optional[Lookup] = None
    expr: Optional[str] = None
    columns: tuple[str, ...] = ()
    argv_of: Optional[str] = None
    argc_of: Optional[str] = None
    hive_spelling: Optional[str] = None  # the value starts with a hive, spelt this way ("full")
    # the column holds values of one shape only (a regex every value fully matches, and its name:
    # Defender's AccountSid holds Windows SIDs): see targets/kql/shapes.py
    shape: Optional[str] = None
    shape_name: str = ""
    shape_os: tuple[str, ...] = ()  # the host.os.type values whose events have the shape
    # the ECS field is a keyword holding the numeric column's value in decimal (event.code ->
    # EventID): only canonical decimal literals translate, see targets/kql/raw_tables.py
    keyword_number: bool = False
    # An identifier whose values are the vendor's own (a process id that is not Elastic's
    # entity_id): only a sequence join key may read it, never a condition (``key_only``); if it is
    # unique only together with another column (Defender's process id: on its device), a join key
    # reads that column with it (``unique_within``). See targets/kql/entity.py.
    key_only: bool = False
    unique_within: Optional[str] = None
    # An identifier read from the column of another ECS field it names one-to-one (agent.id from
    # DeviceId, which host.id fills: one agent per device): key_only, filled by that field in the
    # fixture adapter, whose check leaves out events that pair the two otherwise (entity.unpaired).
    one_to_one: Optional[str] = None
    # A field a raw table's source derives per event id from one EventData value (sentinel.yaml:
    # user.name is TargetUserName for logons, SubjectUserName for account changes): (event ids,
    # EventData name) pairs. ``expr`` computes the field; the fixture adapter, building the raw row
    # of an ECS event that lacks that EventData value, writes the field's value there (see
    # targets/kql/raw_tables.py ``fill_event_data``).
    # (event ids, EventData name, template: the value to write, {ecs.field} for each field's value)
    event_data_from: tuple[tuple[tuple[int, ...], str, str], ...] = ()
    # the event ids ``expr`` reads the field for as the source sets it (event.outcome: 4624, 4625),
    # or those it does not (``event_ids_unread``: 1102's user); a rule must pin its ids to the former
    event_ids: tuple[int, ...] = ()
    event_ids_unread: tuple[int, ...] = ()
    # an ECS ip field read from a text column (raw_tables.IpText states how the two compare)
    ip_text: bool = False
    # ``ip_text: v4_mapped``: the field's expression reads an IPv4-mapped address written
    # ``::ffff:a.b.c.d`` as ``a.b.c.d`` (kqlkerb: SecurityEvent.IpAddress of Kerberos events), so
    # that spelling is no break of the ip_text assumption (raw_tables.IpText)
    ip_v4_mapped: bool = False
    # the ECS field is Java's toString of the JSON object the column holds (aws.cloudtrail.
    # request_parameters from AWSCloudTrail.RequestParameters; targets/kql/cloudtrail.py)
    java_map: bool = False
    # the ECS field is the list of one key's values of the objects of the JSON list the column (or
    # json_path) holds: aws.cloudtrail.resources.arn from AWSCloudTrail.Resources, key ARN
    # (targets/kql/json_list.py)
    key_list: Optional[str] = None
    # the ECS field is a property of a JSON column (defender.yaml CloudAuditEvents: RawEventData, the
    # raw CloudTrail record): "RawEventData.userIdentity.type". The expression reads it (bracket
    # notation) unless the entry gives its own; the fixture adapter writes the value at that path.
    json_path: Optional[str] = None
    # a lookup column joined on a column of the event table (``key``: the file's SHA1 column for
    # DeviceFileCertificateInfo), read under the alias ``<key>_<column>`` so that one query can
    # join the same lookup on several keys (process and parent); see targets/kql/certificates.py
    key: Optional[str] = None
    # a value inside a dynamic (JSON object) column, as (column, key, key...): AKSAudit's
    # ObjectRef.resource. ``expr`` reads it (``tostring(ObjectRef["resource"])``); the fixture
    # adapter writes the field's value at that path of the column's object (kqlraw)
    object_path: tuple[str, ...] = ()
    # a value of a "key=value;key=value" text column, as (column, key): CommonSecurityLog's
    # AdditionalExtensions, where the CEF extensions without a column of their own are kept
    # (FortiGate's FTNTFGTcfgattr). ``expr`` extracts it (:func:`kv_extract`, "N/A" read as no
    # value); the fixture adapter writes the pair into the column (kqlfort)
    kv_path: tuple[str, ...] = ()
    # the column holds a CEF extension value (CommonSecurityLog.DeviceAction from act): the fixture
    # adapter sets apart values that CEF escapes or removes, as it does for ``kv_path`` fields
    cef_text: bool = False
    # a keyword list the source splits from a text column for some event ids, as (column, ids):
    # SecurityEvent's PrivilegeList, which Elastic's System integration splits on Java's \s+ for
    # 4672-4674 and 4741-4743 and keeps whole for the other ids (raw_tables.words_leaf, kqlfort)
    words_of: tuple = ()
    # a long ECS field Elastic sets with Java's Long.decode of a text column (SecurityEvent's
    # ProcessId "0x1f4" -> process.pid 500): compared with integers by the text's spellings of
    # them (raw_tables.java_long_leaf, kqlfort)
    java_long: bool = False
    # a keyword (list) field the source derives from other columns, as one Kusto predicate per
    # value it can hold (GitHub's event.type from the action's words): a literal test reads the
    # listed values' predicates, an unlisted value is one the source never sets (kqlraw)
    value_when: Optional[dict[str, str]] = None
    # a keyword list field holding one key's values of the objects of a dynamic list column, as
    # (column, key): OktaV2_CL's OriginalTarget, key id, for okta.target.id. Read only as a sequence
    # join key, one leg row per distinct value (query.list_key_rows); no condition reads it (kqlmiss)
    list_key: tuple[str, ...] = ()
    # the field's value is the name of the one member of a JSON object column (Jamf Protect's
    # telemetry ``event``: {"od_group_add": {...}}; Elastic's event.action is that member's name):
    # read per value as ``isnotnull(column["value"])`` (``value_when``), written by the fixture
    # adapter as that member (kqlsys)
    object_key: Optional[str] = None
    # a key of whichever member of a JSON object column the event has, the member named by another
    # field (``member_by``: event.action), one of ``members``: group.name from
    # event["od_group_add"]["group_name"] (kqlsys); ``expr`` joins the members' values (one holds)
    object_member: tuple[str, ...] = ()
    member_by: Optional[str] = None
    members: tuple[str, ...] = ()
    # a field the source derives per event id, as branches (sentinel.yaml ``by_event_id``): ``expr``
    # is their rendering for every id; a sequence leg pinning some ids renders only theirs
    # (per_event_id.py, raw_tables.extended)
    by_event_id: Optional[PerEventId] = None

    @property
    def derived_from_command_line(self) -> bool:
        return bool(self.argv_of or self.argc_of)

    @property
    def text(self) -> str:
        """The Kusto expression that reads the field."""
        if self.key and self.lookup is not None:
            return _ident(f"{self.key}_{self.column}")
        return self.expr if self.expr else _ident(self.column or "")

    @property
    def is_string(self) -> bool:
        return self.type in STRING_TYPES

    @property
    def is_numeric(self) -> bool:
        return self.type in NUMERIC_TYPES

    @property
    def is_array(self) -> bool:
        return self.type == "dynamic"


@dataclass(frozen=True)
class Table:
    name: str
    category: str
    note: str
    facts: dict[str, tuple[str, ...]]
    fields: dict[str, FieldMap]
    hives: Optional["HiveColumn"] = None
    # Elastic index patterns whose data the table holds, whatever the event category (the
    # `sentinel` raw-tables profile, category "*"; targets/kql/raw_tables.py)
    sources: tuple[str, ...] = ()
    source_note: str = ""
    shared_sources: tuple[str, ...] = ()  # patterns other sources share (filebeat-*): read only beside one of `sources`
    xml: Optional["XmlData"] = None  # an XML column holding the rest of the event's fields (SecurityEvent.EventData)
    # column -> value every row of the table the profile reads has (Event: the Sysmon channel): each
    # query starts with that filter, and the fixture adapter writes the value into every row
    where: dict[str, Any] = field(default_factory=dict)  # a string, or an int for a numeric column
    # A second table of a category (CloudProcessEvents beside DeviceProcessEvents): read instead of
    # the category's first table by a query (or union leg) that tests a field of one of these ECS
    # field sets (``container``), and holding only the events that have a value in ``rows_need``
    # (container.id): see :meth:`Profile.table_for` and targets/kql/query.py.
    chosen_by: tuple[str, ...] = ()
    rows_need: Optional[str] = None
    event_id: Optional[tuple[str, ...]] = None  # the table's own event-id columns (None: the profile's)
    # ECS field -> why the table has no column for it (the vendor's reference documents none): the
    # refusal of a rule that reads it says so (``field F has no column in T (profile P): why``)
    unmapped: dict[str, str] = field(default_factory=dict)
    # ECS fields of the table's own category that it records nothing for, read as having no value
    # (field -> why the table's rows are taken to carry none): a leaf on one is decided as
    # Elasticsearch decides it on an event without the field, stated, and checked by the fixture
    # adapter per event (targets/kql/absent.py), as a union leg reads another category's field
    absent: dict[str, str] = field(default_factory=dict)
    # ASIM's user name column and its type column (TargetUsername / TargetUsernameType): the fixture
    # adapter composes them from user.domain and user.name as ASIM parsers do (``DOMAIN\name``,
    # type Windows; the bare name, type Simple, without a domain); the profile reads the two ECS
    # fields back through `expr` entries (sentinel-asim.yaml)
    username: Optional["UsernameColumn"] = None
    # the table holding this (``rows_need``) table's category's events without a value in
    # ``rows_need`` (_Im_Dns: imNetworkSession, the connections): a query choosing this table whose
    # condition does not require that value reads a union of the two, each event in one leg
    # (targets/kql/query.py ``split_tables``; the fixture adapter routes the events alike)
    others_in: Optional[str] = None
    # Fact fields that route an event of the table's sources to it (raw tables sharing an index
    # pattern: Elastic's identity_protection data stream holds the records Sentinel splits into
    # AADRiskyUsers and AADUserRiskEvents, by the record's category): an event is a row of the
    # table when each of these fields has one of the table's fact values (raw_tables.routes).
    route: tuple[str, ...] = ()
    # Route values that apply only when a rule's index patterns name this table's sources together
    # with another such table's (kqlkerb2: a rule reading both the Sysmon log, Event, and the Security
    # log, SecurityEvent): field -> the values an event of this table has there (winlog.channel, as
    # Elastic's Windows event-log input writes it). Alone, the table is read as before
    # (raw_tables._routed turns these into ``route`` for the joint reading only).
    joint_route: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # The ECS field holding the time the table's time column records when that is not the event's
    # @timestamp in Elastic's pipeline (Event: TimeGenerated is the record's creation time, Elastic's
    # event.created; the Sysmon pipeline sets @timestamp from UtcTime): the table's source_note
    # states the two equal, and the fixture adapter leaves out an event whose value here differs
    # from its @timestamp (kqlkerb2).
    created_field: Optional[str] = None
    # A raw table whose mapping reads only the events of these categories of its source (Syslog:
    # the Linux auth log's account-management lines, iam): a rule with a query of another category
    # (or `any`) is refused as reading data no table mapping holds (raw_tables.narrow; kqlsys).
    categories: tuple[str, ...] = ()
    categories_note: str = ""
    # The fixture adapter's writer of source text the table's expressions read and ECS documents do
    # not carry (``fortigate_login``: the message of a FortiGate login; targets/kql/fortigate.py)
    fill: str = ""

    @functools.cached_property
    def field_sets(self) -> frozenset[str]:
        """The ECS field sets (``process``, ``file``, ``event``...) the table records a field of:
        a field of another set belongs to other categories' events (``dll.name`` on a process table)."""
        return frozenset(name.split(".")[0] for name in (*self.fields, *self.facts))


@dataclass(frozen=True)
class UsernameColumn:
    """An ASIM user name column (``TargetUsername``) and its ``*UsernameType`` column."""

    column: str
    type_column: str
    # the one type the table's parser writes (ASIM's Sysmon DNS parser: Windows, User being
    # DOMAIN\\name): an event with a user.name and no user.domain, or the reverse, is no row of it
    only_type: Optional[str] = None


@dataclass(frozen=True)
class XmlData:
    """A string column holding an event's data as Windows event XML (``<Data Name="N">value</Data>``
    elements), read for every ECS field ``prefix + N`` the table has no column of its own for
    (:mod:`eqlc.targets.kql.raw_tables`)."""

    column: str
    prefix: str
    note: str = ""
    not_in_xml: tuple[str, ...] = ()  # ECS names the source derives or moves: no Data element holds them
    empty_values: tuple[str, ...] = ()  # Data texts the source drops as empty (Sysmon: "-"): read as missing
    # names the source moves out of winlog.event_data (Sysmon's Image -> process.executable): the XML
    # holds them (the fixture adapter writes them), but a rule testing winlog.event_data.N is refused
    moved: tuple[str, ...] = ()


@dataclass(frozen=True)
class HiveColumn:
    """A column holding a registry key's full path, hive first, spelt in full
    (``HKEY_LOCAL_MACHINE\\SOFTWARE\\...``), as Defender's and ASIM's RegistryKey do. The
    adapter builds it from the ECS event's ``registry.path`` (its hive respelt), else from
    ``registry.hive`` and the hive-relative ``registry.key``; ``names`` maps every other spelling
    of a hive that ECS events and rules use (HKLM, \\REGISTRY\\MACHINE, MACHINE...) to the full
    one, for the adapter and for the emitter's rewriting of a rule's hive prefixes
    (:mod:`eqlc.targets.kql.hives`)."""

    column: str
    hive_field: str
    key_field: str
    names: dict[str, str]

    @functools.cached_property
    def spellings(self) -> "HiveNames":
        from .hives import HiveNames

        return HiveNames(self.names)

    def full(self, hive: str) -> str:
        """The full spelling of a hive given in any listed spelling (case-insensitively)."""
        return self.spellings.full(hive)


@dataclass
class Profile:
    name: str
    timestamp: str
    event_id: tuple[str, ...]
    tables: dict[str, Table]
    types: dict[str, str]
    lookups: dict[str, Lookup]
    extra_columns: dict[str, dict[str, str]] = field(default_factory=dict)
    raw: dict = field(default_factory=dict)
    argv_from_command_line: bool = True
    # the field a query's category tests (a rule's event_category_override); raw tables only
    category_field: str = "event.category"
    dataset_fields: tuple[str, ...] = ()  # data_stream.dataset, event.module...: they select a data source
    endpoint_datasets: tuple[str, ...] = ()  # the data sets whose events the tables stand for

    def table_for(self, category: str, fields: Iterable[str] = ()) -> Optional[Table]:
        """The table holding ``category`` events for a query that reads ``fields``: a table chosen
        by one of their field sets (``chosen_by``) if there is one, else the category's first table
        that no field set chooses."""
        sets = {f.split(".")[0] for f in fields}
        hits = [t for t in self.tables.values() if t.category == category or t.category == ANY_CATEGORY]
        chosen = next((t for t in hits if sets & set(t.chosen_by)), None)
        return chosen or next((t for t in hits if not t.chosen_by), None)

    def tables_with(self, ecs: str) -> list[str]:
        """The tables that map ECS field ``ecs``."""
        return [t.name for t in self.tables.values() if ecs in t.fields]

    def of_other_categories(self, ecs: str, table: Table) -> list[str]:
        """The tables that record ``ecs`` when it is a field of other categories' events than
        ``table``'s: ``table`` records no field of its field set and another table maps it."""
        head = ecs.split(".")[0]
        if head in table.field_sets or any(head in t.chosen_by for t in self.tables.values()):
            return []  # a field set that chooses a table (container) is not another category's
        return self.tables_with(ecs)

    def categories(self) -> list[str]:
        return [t.category for t in self.tables.values()]

    def columns_of(self, table: Table) -> dict[str, str]:
        """Every column this profile reads from ``table`` (name -> Kusto type)."""
        out = {self.timestamp: self.types.get(self.timestamp, "datetime")}
        for c in (self.event_id if table.event_id is None else table.event_id):
            out[c] = self.types.get(c, "string")
        if table.xml is not None:
            out[table.xml.column] = "string"
        for c in table.where:
            out[c] = self.types.get(c, "string")
        for fm in table.fields.values():
            if fm.lookup is not None:
                if fm.key:  # the event table's own column the lookup is joined on
                    out[fm.key] = self.types.get(fm.key, "string")
                continue
            for c in (fm.columns or ((fm.column,) if fm.column else ())) + ((fm.unique_within,) if fm.unique_within else ()):
                out[c] = self.types.get(c, fm.type)
        return out


_IDENT_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def _ident(name: str) -> str:
    """A column reference; names that are not plain identifiers are bracket-quoted."""
    if name and all(c in _IDENT_OK for c in name) and not name[0].isdigit():
        return name
    return "['" + name.replace("\\", "\\\\").replace("'", "\\'") + "']"


def _from_source_table(ecs: str, spec: dict) -> dict:
    """A field the source's pipeline sets per event id (``source_table``: Elastic's Sysmon pipeline's
    event.action, event.category, event.type; the Security log's event.outcome of the ids Microsoft
    documents as success-only or failure-only audits), read from the source facts the witness generator
    shapes its events with (eqlc.fixtures.winlog_facts), so that each fact is written once: an
    action becomes a value map on the id column, a category or type one predicate per value, an
    outcome per-event-id branches (``by_event_id``) over the ids whose ``event_ids`` a rule reading it
    must pin."""
    from eqlc.fixtures.winlog_facts import ids_by_value, outcome_ids

    st = spec["source_table"]
    key, col = str(st.get("key")), str(st.get("column") or "EventID")
    if key not in ("action", "category", "type", "outcome"):
        raise ValueError(f"source_table of {ecs!r}: key must be action, category, type or outcome, not {key!r}")
    rest = {k: v for k, v in spec.items() if k != "source_table"}
    if key == "outcome":
        ids = outcome_ids(str(st.get("log")))
        if not ids:
            raise ValueError(f"source_table of {ecs!r}: the {st.get('log')!r} log documents no outcome per event id")
        # per-event-id branches (per_event_id.py): a sequence leg renders only the ids it can hold
        branches = [{"ids": list(v), "value": _kql_literal(k)} for k, v in sorted(ids.items(), reverse=True)]
        return {**rest, "by_event_id": branches, "otherwise": '""', "columns": [col],
                "event_ids": sorted(i for v in ids.values() for i in v)}
    table = ids_by_value(str(st.get("log")), key)
    if key == "action":
        return {**rest, "column": col, "values": {v: list(ids) for v, ids in table.items()}}
    return {**rest, "columns": [col],
            "value_when": {v: f"isnotnull({col}) and {col} in ({', '.join(map(str, ids))})" for v, ids in sorted(table.items())}}


def _field_map(ecs: str, spec: Any, types: dict[str, str], lookups: dict[str, Lookup]) -> FieldMap:
    if isinstance(spec, str):
        return FieldMap(ecs, spec, types.get(spec, "string"))
    if not isinstance(spec, dict):
        raise ValueError(f"mapping for {ecs!r} must be a column name or a table, not {spec!r}")
    if spec.get("source_table"):
        spec = _from_source_table(ecs, spec)
    values = spec.get("values")
    if values is not None:
        values = {str(k): tuple(str(x) for x in (v if isinstance(v, list) else [v])) for k, v in values.items()}
    lookup = None
    if spec.get("lookup"):
        lookup = lookups[spec["lookup"]]
    for key in ("argv_of", "argc_of"):
        if spec.get(key):
            return FieldMap(ecs, None, "long" if key == "argc_of" else "string", note=str(spec.get("note", "")).strip(), **{key: str(spec[key])})
    if spec.get("json_path"):  # a property of a JSON column (CloudAuditEvents.RawEventData)
        col, *keys = str(spec["json_path"]).split(".")
        read = f"tostring({col}" + "".join(f'["{k}"]' for k in keys) + ")"
        return FieldMap(ecs, None, str(spec.get("type") or "string"), note=str(spec.get("note", "")).strip(),
                        expr=spec.get("expr") or read, columns=tuple(spec.get("columns") or (col,)),
                        java_map=bool(spec.get("java_map")), json_path=str(spec["json_path"]),
                        key_list=str(spec["key_list"]) if spec.get("key_list") else None)
    if spec.get("object_path"):
        # a key is a name or, as an int, a list index (AuditLogs TargetResources[0]["modifiedProperties"][1])
        path = tuple(x if isinstance(x, int) and not isinstance(x, bool) else str(x) for x in spec["object_path"])
        if len(path) < 2 or not isinstance(path[0], str):
            raise ValueError(f"object_path of {ecs!r} must name a column and at least one key, not {path!r}")
        head = _ident(path[0])
        if spec.get("json_text"):  # the column holds the object as JSON text (AADNonInteractiveUserSignInLogs.
            head = f"parse_json({head})"  # DeviceDetail); parse_json returns a dynamic column's value as it is
        value = head + "".join(f"[{k}]" if isinstance(k, int) else f"[{_kql_literal(k)}]" for k in path[1:])
        if spec.get("type") == "bool":  # a JSON true/false inside the object (DeviceDetail.isManaged)
            return FieldMap(ecs, None, "bool", note=str(spec.get("note", "")).strip(), expr=f"tobool({value})",
                            columns=(path[0],), object_path=path)
        if spec.get("type") == "long":  # a JSON number inside the object (SigninLogs Status.errorCode: kqlgraph)
            return FieldMap(ecs, None, "long", note=str(spec.get("note", "")).strip(), expr=f"tolong({value})",
                            columns=(path[0],), object_path=path)
        if spec.get("type") == "dynamic":  # a list of strings inside the object (AKSAudit User["groups"])
            return FieldMap(ecs, None, "dynamic", note=str(spec.get("note", "")).strip(), expr=value, columns=(path[0],),
                            object_path=path)
        return FieldMap(ecs, None, "string", note=str(spec.get("note", "")).strip(), expr=f"tostring({value})",
                        columns=(path[0],), object_path=path)
    if spec.get("list_key"):
        path = tuple(str(x) for x in spec["list_key"])
        if len(path) != 2:
            raise ValueError(f"list_key of {ecs!r} must name a column and one key, not {path!r}")
        return FieldMap(ecs, None, "string", note=str(spec.get("note", "")).strip(), expr=_ident(path[0]),
                        columns=(path[0],), list_key=path)
    if spec.get("object_key"):
        col, members = str(spec["object_key"]), tuple(str(m) for m in spec.get("members") or ())
        if not members:
            raise ValueError(f"object_key of {ecs!r} must list the members it reads")
        return FieldMap(ecs, None, "string", note=str(spec.get("note", "")).strip(), columns=(col,), object_key=col,
                        members=members,
                        value_when={m: f"isnotnull({_ident(col)}[{_kql_literal(m)}])" for m in members})
    if spec.get("object_member"):
        path = tuple(str(x) for x in spec["object_member"])
        members = tuple(str(m) for m in spec.get("members") or ())
        if len(path) != 2 or not members or not spec.get("by"):
            raise ValueError(f"object_member of {ecs!r} must name a column and a key, with `by` and `members`")
        col, key = path
        parts = [f"tostring({_ident(col)}[{_kql_literal(m)}][{_kql_literal(key)}])" for m in members]
        return FieldMap(ecs, None, "string", note=str(spec.get("note", "")).strip(),
                        expr=f"strcat({', '.join(parts)})" if len(parts) > 1 else parts[0], columns=(col,),
                        object_member=path, member_by=str(spec["by"]), members=members)
    if spec.get("words_of"):
        w = spec["words_of"]
        col, ids = str(w["column"]), tuple(int(i) for i in w.get("ids") or ())
        return FieldMap(ecs, None, "string", note=str(spec.get("note", "")).strip(), expr=_ident(col),
                        columns=("EventID", col), words_of=(col, ids))
    if spec.get("kv_path"):
        path = tuple(str(x) for x in spec["kv_path"])
        if len(path) != 2 or not re.fullmatch(r"\w+", path[1]):
            raise ValueError(f"kv_path of {ecs!r} must name a column and one word key, not {path!r}")
        return FieldMap(ecs, None, "string", note=str(spec.get("note", "")).strip(), expr=kv_extract(*path),
                        columns=(path[0],), kv_path=path)
    if spec.get("value_when"):
        when = {str(k): str(v) for k, v in spec["value_when"].items()}
        return FieldMap(ecs, None, "string", note=str(spec.get("note", "")).strip(), columns=tuple(spec.get("columns", ())),
                        value_when=when)
    column = spec.get("column")
    typ = spec.get("type") or (lookup.columns.get(column) if lookup and column else None) or types.get(column or "", "string")
    by_id = per_event_id.parse(ecs, spec["by_event_id"], spec.get("otherwise"), spec.get("around")) \
        if spec.get("by_event_id") else None
    if by_id is not None and spec.get("expr"):
        raise ValueError(f"{ecs!r} has both `expr` and `by_event_id`: one expression or the other "
                         f"(`by_event_id: null` drops the profile's branches)")
    return FieldMap(
        ecs, column, typ, note=str(spec.get("note", "")).strip(), values=values, lookup=lookup,
        expr=spec.get("expr"), columns=tuple(spec.get("columns", ())), by_event_id=by_id,
        hive_spelling=spec.get("hive_spelling"), keyword_number=bool(spec.get("keyword_number")),
        unique_within=spec.get("unique_within"), key_only=bool(spec.get("key_only") or spec.get("unique_within") or spec.get("one_to_one")),
        one_to_one=spec.get("one_to_one"),
        event_data_from=tuple((tuple(int(i) for i in e["ids"]), str(e["name"]), str(e.get("template") or "{" + ecs + "}"))
                              for e in spec.get("event_data_from") or ()),
        event_ids=tuple(int(i) for i in spec.get("event_ids") or ()),
        event_ids_unread=tuple(int(i) for i in spec.get("event_ids_unread") or ()),
        ip_text=bool(spec.get("ip_text")),
        ip_v4_mapped=spec.get("ip_text") == "v4_mapped",
        cef_text=bool(spec.get("cef_text")),
        java_long=bool(spec.get("java_long")),
        java_map=bool(spec.get("java_map")),
        key_list=str(spec["key_list"]) if spec.get("key_list") else None,
        key=spec.get("key") if lookup is not None else None,
        shape=(spec.get("shape") or {}).get("regex"), shape_name=str((spec.get("shape") or {}).get("name") or ""),
        shape_os=tuple(str(x).lower() for x in (spec.get("shape") or {}).get("os") or ()),
    )


def load_profile(name: Optional[str] = None, mapping: Optional[str] = None) -> Profile:
    """The named profile (default ``defender``) with ``mapping`` deep-merged over its YAML.

    Parsed profiles are cached by file modification times: compiling a corpus reads each YAML once.
    """
    name = name or DEFAULT_PROFILE
    if name not in PROFILE_FILES:
        raise KeyError(f"unknown KQL profile {name!r}; expected one of {', '.join(PROFILE_FILES)}")
    stamp = (PROFILE_FILES[name].stat().st_mtime_ns, Path(mapping).stat().st_mtime_ns if mapping and Path(mapping).exists() else None)
    try:
        return _load_profile(name, mapping, stamp)
    except MappingError:  # located already (an unknown key)
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        if not mapping:
            raise
        raise MappingError(f"invalid kql mapping: {exc}", path=str(mapping)) from None


@functools.lru_cache(maxsize=16)
def _load_profile(name: str, mapping: Optional[str], _stamp: tuple) -> Profile:
    data = load_mapping(PROFILE_FILES[name], mapping, SCHEMA)
    types = {str(k): str(v) for k, v in (data.get("types") or {}).items()}
    lookups = {
        k: Lookup(k, v["table"], v["join_on"], v["query"], dict(v.get("columns", {})), str(v.get("note", "")).strip(),
                  {str(a): str(b) for a, b in (v.get("stored_as_list") or {}).items()})
        for k, v in (data.get("lookups") or {}).items()
    }
    common = data.get("common_fields") or {}
    argv_on = bool(data.get("argv_from_command_line", True))
    tables: dict[str, Table] = {}
    for tname, tspec in (data.get("tables") or {}).items():
        fields: dict[str, FieldMap] = {}
        for ecs, spec in common.items():
            fields[ecs] = _field_map(ecs, spec, types, lookups)
        for ecs, spec in (tspec.get("fields") or {}).items():
            if spec is None:  # an override can remove a field with `field: null`
                fields.pop(ecs, None)
                continue
            fields[ecs] = _field_map(ecs, spec, types, lookups)
        fields = _resolve_argv(_bind_event_ids(fields, tname), tname, argv_on)
        xml = _xml_data(tspec.get("event_data_xml"))
        if xml is not None:
            fields = {k: _expand_xml(fm, xml) for k, fm in fields.items()}
        facts = {k: tuple(str(x) for x in v) for k, v in (tspec.get("facts") or {}).items()}
        hv = tspec.get("registry_hives")
        hives = HiveColumn(str(hv["column"]), str(hv["hive_field"]), str(hv["key_field"]),
                           {str(k): str(v) for k, v in hv["names"].items()}) if hv else None
        tables[tname] = Table(tname, str(tspec["category"]), str(tspec.get("note", "")).strip(), facts, fields, hives,
                              tuple(str(x) for x in tspec.get("sources") or ()), str(tspec.get("source_note", "")).strip(),
                              tuple(str(x) for x in tspec.get("shared_sources") or ()), xml,
                              {str(k): (v if isinstance(v, int) and not isinstance(v, bool) else str(v))
                               for k, v in (tspec.get("where") or {}).items()},
                              tuple(str(x) for x in tspec.get("chosen_by") or ()),
                              str(tspec["rows_need"]) if tspec.get("rows_need") else None,
                              tuple(str(x) for x in tspec["event_id"]) if tspec.get("event_id") is not None else None,
                              {str(k): " ".join(str(v).split()) for k, v in (tspec.get("unmapped") or {}).items()},
                              absent={str(k): " ".join(str(v).split()) for k, v in (tspec.get("absent") or {}).items() if v},
                              username=UsernameColumn(str(tspec["username"]["column"]), str(tspec["username"]["type_column"]),
                                                      tspec["username"].get("only_type"))
                              if tspec.get("username") else None,
                              others_in=str(tspec["others_in"]) if tspec.get("others_in") else None,
                              route=tuple(str(x) for x in tspec.get("route") or ()),
                              created_field=str(tspec["created_field"]) if tspec.get("created_field") else None,
                              joint_route={str(k): tuple(str(x) for x in (v if isinstance(v, list) else [v]))
                                           for k, v in (tspec.get("joint_route") or {}).items()},
                              categories=tuple(str(x) for x in tspec.get("categories") or ()),
                              categories_note=" ".join(str(tspec.get("categories_note") or "").split()),
                              fill=str(tspec.get("fill") or ""))
    for t in tables.values():
        other = tables.get(t.others_in) if t.others_in else None
        if t.others_in and (other is None or other.category != t.category or other.chosen_by or not t.rows_need):
            raise ValueError(f"{name} profile: table {t.name}: others_in must name a table of its category that no "
                             f"field set chooses, and the table must have rows_need (got {t.others_in!r})")
    extra = {k: dict(v) for k, v in (data.get("extra_columns") or {}).items()}
    return Profile(
        name=name, timestamp=str(data.get("timestamp", "Timestamp")),
        event_id=tuple(data.get("event_id") or ()), tables=tables, types=types, lookups=lookups,
        extra_columns=extra, raw=data, argv_from_command_line=argv_on,
        dataset_fields=tuple(str(f) for f in (data.get("datasets") or {}).get("fields") or ()),
        endpoint_datasets=tuple(str(v) for v in (data.get("datasets") or {}).get("endpoint") or ()),
    )


# XML text escaping, decoded in this order (&amp; last, so that "&amp;lt;" reads "&lt;")
XML_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&"))
_XML_PLACEHOLDER = re.compile(r"\{EventData:([A-Za-z][A-Za-z0-9_]*)\}")


def xml_extract(column: str, data_name: str, empty: tuple[str, ...] = ()) -> str:
    """The Kusto expression reading the text of ``<Data Name="data_name">`` from the event XML in
    ``column``, its XML entities decoded ("" when the element is missing, or when its text is one
    of ``empty``, the values the source drops)."""
    text = f"extract(@'<Data Name=\"{data_name}\">([^<]*)</Data>', 1, {column})"
    for entity, char in XML_ENTITIES:
        text = f"replace_string({text}, {_kql_literal(entity)}, {_kql_literal(char)})"
    if empty:  # the whole text one of the dropped values -> ""
        alts = "|".join("".join("\\" + c if c in ".^$*+?()[]{}|\\" else c for c in v) for v in empty)
        text = f"replace_regex({text}, @'^({alts})$', '')"
    return text


KV_PAIR = ";"  # the pair separator of AdditionalExtensions (Microsoft's own FortiGate parser:
# Azure-Sentinel Parsers/ASimNetworkSession/Parsers/ASimNetworkSessionFortinetFortiGate.yaml,
# ``parse-kv AdditionalExtensions ... with (pair_delimiter=';', kv_delimiter='=')``)
KV_ABSENT = "N/A"  # a value Elastic's FortiGate pipeline drops (default.yml: removeIf value == "N/A")


def kv_extract(column: str, key: str) -> str:
    """The Kusto expression reading ``key``'s value from a ``key=value;key=value`` column: the text
    after ``key=`` up to the next pair separator, "" when the key is missing; "N/A" reads as "" too
    (Elastic's FortiGate pipeline removes every field whose value is N/A)."""
    raw = f"extract(@'(?:^|{KV_PAIR}){key}=([^{KV_PAIR}]*)', 1, {_ident(column)})"
    return f'iff({raw} == "{KV_ABSENT}", "", {raw})'


def _kql_literal(s: str) -> str:
    return "'" + s + "'" if '"' in s else '"' + s + '"'


def _expand_xml(fm: FieldMap, xml: XmlData) -> FieldMap:
    """``{EventData:N}`` in a field's expression (sentinel.yaml) is the text of the event XML's
    Data element N (:func:`xml_extract`), for EventData values no column of their own holds."""
    if not fm.expr or "{EventData:" not in fm.expr:
        return fm

    def expand(text: str) -> str:
        return _XML_PLACEHOLDER.sub(lambda m: xml_extract(xml.column, m.group(1), xml.empty_values), text)

    by_id = fm.by_event_id.mapped(expand) if fm.by_event_id is not None else None
    cols = fm.columns if xml.column in fm.columns else (*fm.columns, xml.column)
    return dataclasses.replace(fm, expr=expand(fm.expr), columns=cols, by_event_id=by_id)


def _bind_event_ids(fields: dict[str, FieldMap], table: str) -> dict[str, FieldMap]:
    """The ``by_event_id`` fields of a table bound to its event id column (the ``keyword_number``
    column event.code is read from), each with its expression for every id rendered."""
    if not any(fm.by_event_id for fm in fields.values()):
        return fields
    code = fields.get("event.code")
    if code is None or not code.keyword_number or not code.column:
        raise ValueError(f"{table}: a by_event_id field needs event.code mapped to the event id column (keyword_number)")
    out = {}
    for k, fm in fields.items():
        if fm.by_event_id is not None:
            by_id = dataclasses.replace(fm.by_event_id, column=code.column)
            fm = dataclasses.replace(fm, by_event_id=by_id, expr=by_id.render())
        out[k] = fm
    return out


def _xml_data(spec: Any) -> Optional[XmlData]:
    if not spec:
        return None
    return XmlData(str(spec["column"]), str(spec["prefix"]), str(spec.get("note", "")).strip(),
                   tuple(str(x) for x in spec.get("not_in_xml") or ()), tuple(str(x) for x in spec.get("empty_values") or ()),
                   tuple(str(x) for x in spec.get("moved") or ()))


def _resolve_argv(fields: dict[str, FieldMap], table: str, enabled: bool) -> dict[str, FieldMap]:
    """Point ``argv_of``/``argc_of`` fields at their command line's column (or expression).

    With ``argv_from_command_line: false`` (a user mapping's switch) the derived fields are
    dropped, so a rule using them is refused as having no column. A derived field whose
    command-line field the table does not map as a plain string is an error in the YAML.
    """
    from .argv import argc_expr, argc_note, argv_note

    out: dict[str, FieldMap] = {}
    for ecs, fm in fields.items():
        if not fm.derived_from_command_line:
            out[ecs] = fm
            continue
        if not enabled:
            continue
        src_name = fm.argv_of or fm.argc_of
        src = fields.get(src_name or "")
        if src is None or not src.is_string or src.values is not None or src.derived_from_command_line or src.lookup is not None:
            raise ValueError(f"{table}: {ecs} is read from {src_name}, which the table does not map to a string column")
        cols = src.columns or ((src.column,) if src.column else ())
        if fm.argv_of:
            note = fm.note or argv_note(ecs, src.text, src_name)
            out[ecs] = FieldMap(ecs, src.column, "string", note=note, expr=src.expr, columns=cols, argv_of=src_name)
        else:
            note = fm.note or argc_note(ecs, src.text, src_name)
            out[ecs] = FieldMap(ecs, None, "long", note=note, expr=argc_expr(src.text), columns=cols, argc_of=src_name)
    return out

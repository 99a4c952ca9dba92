"""Corpus coverage of the Sigma target: exact / with assumptions / refused by reason.

``python -m eqlc.targets.sigma.coverage PATH [--profile P]`` prints the counts for every rule under
PATH (for the shared corpus: ``../shared/corpus/elastic-detection-rules``). Refusal reasons are grouped into the classes below, so that
the report says *why* rules cannot be Sigma, not just how many.
"""

from __future__ import annotations

import argparse
import collections
from dataclasses import dataclass, field
from typing import Iterable, Optional

from eqlc.result import Status
from eqlc.rule import Rule

from .target import TARGET

# Refusal families: (label, regex on the reason, verdict). First match wins. The verdict is either
# "inexpressible" -- Sigma's taxonomy and correlation model record no equivalent, so a translation would
# change what the rule selects; the label says why and the comment names the source -- or "gap": an
# open item that a mapping entry, log source, value map or rewrite would close (or that nobody has
# checked field by field yet), the label saying what is missing. tests/data/sigma/coverage.yaml lists
# every gap family with its count (`not_inexpressible`) and tests/test_sigma_corpus.py asserts both.
# Sources: T = SigmaHQ/sigma-specification specification/sigma-appendix-taxonomy.md v2.1.0 (log sources
# per product: Linux file_event/network_connection/process_creation + services; macOS file_event/
# process_creation); S = elastic/integrations packages/windows/data_stream/sysmon_operational/
# elasticsearch/ingest_pipeline/default.yml (how ECS fields are derived from Sysmon's).
_FIELD = r"^(?P<f>\S+) has no field in the Sigma taxonomy of "


def _field(names: str, where: str = "") -> str:
    return _FIELD.replace("(?P<f>\\S+)", f"({names})") + where


_NO_SOURCE = r"no Sigma log source in the mapping holds "
REASON_FAMILIES: list[tuple[str, str, str]] = [
    # ---- open gaps first: each is a narrower case of an inexpressible family below ----
    # S splits Sysmon's User "DOMAIN\\name" on the backslash into user.domain and user.name
    ("gap: user.domain of Sysmon events (the head of User; not built)", _field(r"user\.domain", r"\S+/windows"), "gap"),
    # S copies Sysmon 7's Signature/SignatureStatus to file.code_signature.subject_name/status
    ("gap: signer subject name / status of a loaded image (Sysmon 7 Signature; not mapped)", _field(r"(dll|file)\.code_signature\.subject_name|file\.code_signature\.status", r"image_load/windows"), "gap"),
    # the System integration splits PrivilegeList, derives AccessMaskDescription from AccessMask and
    # NewUACList from the UserAccountControl change; the raw fields are in the Security log
    ("gap: Security EventData lists Elastic derives from a raw field (not built)",
     _field(r"winlog\.event_data\.(NewUACList|PrivilegeList|AccessMaskDescription)"), "gap"),
    ("gap: one network query over connection and DNS fields (network_connection + dns_query collection)", _field(r"dns\.question\.name", r"network_connection/windows"), "gap"),
    # S: DestinationHostname -> destination.domain, DestinationPortName/SourcePortName -> network.protocol
    ("gap: destination.domain / network.protocol of Sysmon 3 (not mapped)",
     _field(r"destination\.domain|network\.protocol", r"network_connection/windows"), "gap"),
    ("gap: registry.hive of Sysmon registry events (the head of TargetObject; not mapped)",
     _field(r"registry\.hive", r"registry_set/windows"), "gap"),
    ("gap: Google Workspace fields (T: gcp/google_workspace.admin; kqlaz's area)",
     _field(r"google_workspace\.\S+"), "gap"),
    ("gap: a wildcard on a field that is the head of another (user.domain of User; not built)",
     r"is the head of \S+; a wildcard on it is not translated", "gap"),
    # ---- inexpressible, and what remains of each family ----
    # S sets user.id of every Sysmon event from winlog.user.identifier (the account that logged it, Sysmon's
    # service account), not from the process's User; Elastic Defend's user.id is the process's SID/uid,
    # which no Sigma field records (Sysmon's User is a name; uid/SID to name is per host)
    ("user and group ids (Sigma records account names, not SIDs/uids)",
     _field(r"user\.id|process\.user\.id|user\.Ext\.real\.id|process\.parent\.Ext\.real\.pid"), "inexpressible"),
    ("code signatures (Sysmon process/file/network events carry none)",
     _field(r"\S*code_signature\S*"), "inexpressible"),
    ("containers (no container fields in Sigma's taxonomy)", _field(r"container\.\S+"), "inexpressible"),
    ("Elastic Defend session view", _field(r"process\.(entry_leader|session_leader)\.\S+|\S*\.interactive"), "inexpressible"),
    ("rename source of Linux/macOS file events (T: no file_rename there)", _field(r"file\.Ext\.original\.\S+"), "inexpressible"),
    ("Elastic enrichments with no Sigma field (Ext, ML, env vars, capabilities)",
     _field(r"\S*\.Ext\.\S+|problemchild\.\S+|Effective_process\.\S+|Persistence\.\S+|process\.env_vars|"
            r"process\.thread\.capabilities\.\S+|process\.previous\.\S+|process\.exit_code|process\.parent\.working_directory"),
     "inexpressible"),
    ("network payload and application fields (packet, HTTP; T: no Linux dns_query, no macOS network log source)",
     _field(r"http\.\S+|network_traffic\.\S+|network\.protocol|network\.application|destination\.domain|"
            r"dns\.question\.name|event\.kind"), "inexpressible"),
    ("cloud fields with no Sigma equivalent (request_parameters k=v text, the resources list)",
     _field(r"aws\.cloudtrail\.(request_parameters|resources\.\S+)"), "inexpressible"),
    ("Linux auditd fields outside linux/auditd's kernel-module records (an exec's argv is its own EXECVE record)",
     _field(r"auditd\.\S+"), "inexpressible"),
    # Linux OriginalFileName, argv of a file event, the Kubernetes groups list, Sysmon 11 outcome, Sysmon 6 pid
    ("a field the chosen log source does not record", _FIELD, "inexpressible"),
    # Windows rules read process.args as Windows splits the command line (eqlc.windows_argv, the plain form the
    # KQL target states too: Elastic Defend splits with CommandLineToArgvW, elastic/endpoint issue #83), so a
    # value with a space is a quoted argument there. What is left reads argv from a line Linux/macOS record as
    # the arguments joined by spaces with no quoting (Elastic Defend's Linux/macOS command_line; Sysmon for
    # Linux's CommandLine likewise), or a rule naming no OS, written once per product, whose Linux/macOS part
    # cannot tell a value with a space from two arguments
    ("process.args value with a space (Linux/macOS argv joined by spaces without quoting; OS not pinned)",
     r"contains a space, but", "inexpressible"),
    # a regex on a file name or an argument is rendered on its segment (regex.render_segment) and a file name's
    # `== null` is its path's; what is left: `== null` of an extension or of the arguments, regexes on a head
    # or an extension -- each expressible with the same kind of rewrite, not built
    ("gap: regex or null test on a derived field (extension, argv, head; rewrite not built)", r"derived from", "gap"),
    ("file name value with a path separator", r"which a file name", "inexpressible"),
    ("sequence `with runs`", r"\(a term repeated\)", "inexpressible"),
    ("sequence `until`", r"`until`", "inexpressible"),
    ("sequence missing events", r"missing events", "inexpressible"),
    ("`sample`", r"`sample`", "inexpressible"),
    ("pipe", r"the pipe", "inexpressible"),
    ("sequence step naming several log sources", r"names several log sources", "inexpressible"),
    ("sequence join key without a plain Sigma field", r"join key", "inexpressible"),
    ("gap: event_category_override in a sequence (its terms' categories are not rewritten)",
     r"overrides the event category field", "gap"),
    # no log source: by the events' kind (T), the data set the query pins, or open
    # T: Linux/macOS have file_event (Sysmon 11 creations) only; Windows file_change is Sysmon 2's creation-time
    # change and file_rename (ETW Kernel-File) lists no fields
    ("no Sigma log source: file modifications, deletions, renames",
     _NO_SOURCE + r"ECS 'file' events (with `event\.type (==|like~) \"(change|deletion)\"`|for product (linux|macos))"
     r"|names ECS event\.type (change|deletion) events, and no Sigma log source in the mapping holds ECS 'file' events",
     "inexpressible"),
    ("no Sigma log source: Linux process events other than starts (T: process_creation only)",
     _NO_SOURCE + r"ECS 'process' events with `event\.type == \"(end|change|info)\"`", "inexpressible"),
    ("no Sigma log source: macOS configuration and library events (T: file_event, process_creation only)",
     _NO_SOURCE + r"ECS '(configuration|library)' events for product macos", "inexpressible"),
    # T has no Fortinet log source and no flow or redis/mysql/pgsql/cassandra protocol records
    ("no Sigma log source: Fortigate configuration logs, Packetbeat flows and database protocols",
     _NO_SOURCE + r".*\(data set (fortinet_fortigate\.log|network_traffic\.(redis|mysql|pgsql|cassandra|flow))\)", "inexpressible"),
    # a step that reads the alerts Elastic Security raised (signal.rule.threat.tactic.name: any rule of a tactic):
    # no taxonomy log source holds SIEM alerts (T), and a Sigma correlation chains the rules it names by id or
    # name (sigma-specification specification/sigma-correlation-rules-specification.md, "Related rules"), not
    # whichever rule of a tactic raised an alert
    ("no Sigma log source: Elastic Security alert documents (T; correlations name their rules)",
     _NO_SOURCE + r".*\(Elastic Security alert documents", "inexpressible"),
    # T (v2.1.0, Cloud Folder / GCP, read at SigmaHQ/sigma-specification b1b2cf6) has gcp.audit and
    # google_workspace.admin only: Google Workspace's drive, token, login... reports have no log source
    ("no Sigma log source: Google Workspace reports other than admin (T: gcp/google_workspace.admin only)",
     _NO_SOURCE + r".*\(data set google_workspace\.(?!admin\b)\w+\)", "inexpressible"),
    # Azure records outside T's azure services (appendix v2.0.1 Cloud Folder / Azure: activitylogs, auditlogs,
    # riskdetection, pim, signinlogs): Entra ID non-interactive / service principal / managed identity sign-in
    # categories, AAD / Microsoft Graph activity, Identity Protection's RiskyUsers (evidence in mapping.yaml no_log_source)
    ("no Sigma log source: Azure records outside T's azure services (non-interactive and service principal "
     "sign-ins, AAD and Microsoft Graph activity, Identity Protection risky users)",
     r"no Sigma taxonomy log source holds data set azure\.", "inexpressible"),
    # the azure auditlogs pipeline keys targetResources/modifiedProperties list elements by position; the
    # research file classes Elastic-flattened `properties.*` paths of the Azure logs as not a gap (cloud table)
    ("Azure audit log list elements by position (Elastic-flattened target_resources.<i>; Sigma has no list index)",
     r"no Sigma field holds azure\.auditlogs\.properties\.target_resources\.", "inexpressible"),
    ("gap: no log source built for Azure, Microsoft 365, Google Workspace, Okta (kqlaz's area)", _NO_SOURCE + r".*\(data set (azure|o365|google_workspace|okta)[.\w]*\)", "gap"),
    # Packetbeat's HTTP captures (network_traffic.http, module network_traffic): the research file classes
    # Packetbeat sources INEX (../shared/research/coverage-gaps.md 2c "Network appliances: no fortinet/packetbeat
    # log sources"; 3d "packet payload fields have no equivalent"); T's HTTP sources (proxy, webserver, zeek http)
    # are a proxy's, a web server's or Zeek's logs, not a host's packet capture, and two of the three rules read
    # http.request.body.content, a payload field
    ("no Sigma log source: Packetbeat HTTP captures (research 2c/3d: no packetbeat log sources, payload fields)",
     _NO_SOURCE + r".*\((data set network_traffic\.http|module network_traffic)\)", "inexpressible"),
    # T (v2.1.0, "Other" and "Specific"): `category: firewall` names the fields src_ip, src_port, dst_ip, dst_port,
    # username only, so a PAN-OS threat record (event.action c2_communication, from the panw pipeline's threat
    # fields) has no field saying what the firewall detected; T has no Suricata product, and its generic
    # `category: network` services (connection, dns) list connection and DNS fields, no alert, signature
    # (rule.name) or severity: the Suricata alert step (event.kind alert, event.severity, rule.name) has none either
    ("no Sigma log source: PAN-OS threat and Suricata alert records (T: firewall fields are src/dst ip and port "
     "and username; no Suricata product; network services list no alert fields)",
     _NO_SOURCE + r".*\((module panw|data set suricata\.eve)\)", "inexpressible"),
    ("gap: Windows Security queries windows_security does not admit (ids unpinned or unlisted)", _NO_SOURCE + r"(the query's|ECS 'authentication') "
     r"events for product windows$", "gap"),
    # (Linux account creation in the auth log is built: mapping.yaml `linux_auth`, keyword searches of the program
    # tag the system auth pipeline derives iam/user/group/creation from; sigopen2)
    ("gap: no Sigma log source for Linux iam events other than the auth log's account management",
     _NO_SOURCE + r"ECS 'iam' events for product linux$", "gap"),
    # ECS lists the event types expected per category (elastic.co/docs/reference/ecs/ecs-allowed-values-event-category);
    # a `file` branch requiring type start could be left out under that assumption, with its check
    ("gap: a collection branch with an event.type ECS does not expect for its category", _NO_SOURCE + r"ECS 'file' events with `event\.type == \"start\"`", "gap"),
    # (the web access log rules, imds_ssrf and sql_injection, are built: mapping.yaml `webserver`, url.original as
    # W3C cs-uri, which SigmaHQ's taxonomy data lists for category webserver; sigopen2)
    ("gap: no Sigma log source, not classified further",
     r"no Sigma log source in the mapping", "gap"),
    ("gap: a data-source field inside a larger expression (an event.action of another agent)",
     r"is translated only as a top-level positive condition", "gap"),
    ("gap: a Security field recorded per event id, ids not pinned (one rule per id group not built)", r"by different fields for different event ids", "gap"),
    # sigma-specification sigma-appendix-modifiers.md v2.1.0: no modifier applies a function to a field, and
    # `fieldref` (the one comparison of two fields) combines with `neq` only, so startsWith/endsWith/
    # stringContains of two fields (make_token_local, the O365 inbox rule) has no Sigma form; emit.py
    # refuses those before choosing a log source
    ("function/arithmetic without Sigma equivalent", r"only a field can be compared|has no Sigma equivalent|is translated only with a field and", "inexpressible"),
    ("regex construct outside Sigma's regex subset", r"Sigma regex equivalent", "inexpressible"),
    # Elastic's Sysmon pipeline writes Sysmon 7 image loads as event.category process, action "Image loaded"
    # (S, "Add ECS categorization fields"); image_load admits ECS library events only
    ("gap: every branch of a collection reads as never holding (Sysmon-shaped image loads as process events)",
     r"can never hold on any of the log sources it names", "gap"),
    ("condition that can never hold on the log source", r"can never hold", "inexpressible"),
    ("contradictory conditions", r"contradict", "inexpressible"),
    ("maxspan not in whole seconds", r"timespans are whole seconds", "inexpressible"),
    ("sequence without maxspan or look-back", r"without maxspan", "inexpressible"),
    # Sysmon's Details spells numbers as "DWORD (0x0000000A)" where ECS has "10" (spelling.py): exact values
    # are translated into every spelling; a wildcard or regex selecting by the decimal text's digits
    # ("1*") would need every hex spelling of every number it selects, which no finite Sigma list is.
    ("registry Details numbers: wildcard/regex on decimal digits, or a number with too many QWORD spellings", r"spells numbers otherwise than ECS|spells the number \S+ in too many ways", "inexpressible"),
]
REASON_CLASSES = [(label, pattern) for label, pattern, _ in REASON_FAMILIES]  # kept for callers of the old name


def reason_class(reason: str) -> str:
    import re

    for label, pattern, _verdict in REASON_FAMILIES:
        if re.search(pattern, reason):
            return label
    return "other: " + reason[:80]


def verdict(label: str) -> str:
    """``inexpressible``/``gap`` for a family label (``unclassified`` for an unknown one)."""
    return next((v for lab, _p, v in REASON_FAMILIES if lab == label), "unclassified")


@dataclass
class Coverage:
    total: int = 0
    status: collections.Counter = field(default_factory=collections.Counter)
    reasons: collections.Counter = field(default_factory=collections.Counter)
    kinds: collections.Counter = field(default_factory=collections.Counter)  # rule / correlation among translated

    def as_dict(self) -> dict:
        return {
            "total": self.total,
            "exact": self.status[Status.EXACT.value],
            "assumptions": self.status[Status.ASSUMPTIONS.value],
            "refused": self.status[Status.REFUSED.value],
            "translated_kinds": dict(sorted(self.kinds.items())),
            "refused_by_reason": dict(sorted(self.reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        }


def coverage(rules: Iterable[Rule], profile: Optional[str] = None, translations: Optional[Iterable] = None) -> Coverage:
    """Counts for ``rules`` (or for their already compiled ``translations``, in the same order)."""
    cov = Coverage()
    for t in translations if translations is not None else (TARGET.compile(r, profile=profile) for r in rules):
        cov.total += 1
        cov.status[t.status.value] += 1
        if t.status is Status.REFUSED:
            cov.reasons[reason_class(t.notes[0])] += 1
        else:
            cov.kinds["correlation" if "\ncorrelation:" in (t.output or "") else "rule"] += 1
    return cov


def main(argv: Optional[list[str]] = None) -> None:
    import yaml

    from eqlc.loaders import load_rules

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("path", help="a rule file or folder (nothing outside the installed package is read by default)")
    ap.add_argument("--profile", default=None)
    args = ap.parse_args(argv)
    rules = load_rules(args.path)
    print(yaml.safe_dump(coverage(rules, args.profile).as_dict(), sort_keys=False))


if __name__ == "__main__":
    main()
